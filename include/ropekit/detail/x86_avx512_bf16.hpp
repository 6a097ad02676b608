// SPDX-License-Identifier: Apache-2.0
// The avx512_bf16 path: the AVX-512 kernel with AVX512_BF16's conversion for
// what it writes as bfloat16 (Zen 4 and 5, Sapphire Rapids and later). The
// exact integer rounding of x86_avx512.hpp costs nine vector micro-ops per
// 16 lanes; vcvtne2ps2bf16 rounds 32 lanes to nearest even in one
// instruction. It differs from ropekit's definition (Eigen's) in two kinds
// of lane only: NaN (it keeps the payload; Eigen writes a quiet NaN of the
// same sign) and subnormal (it flushes to zero). Each store classifies its
// lanes (vfpclassps) and writes a vector holding either kind through
// Eigen's conversion, lane by lane, so the bits are the avx512 path's. That
// branch depends on the data (never taken on finite normal values) and
// checks nothing about the call: validation is done before any kernel runs.
//
// Only jobs that write bfloat16 take this path's kernels; every other job
// on it runs the avx512 kernels (detail/dispatch.hpp).
#ifndef ROPEKIT_DETAIL_X86_AVX512_BF16_HPP
#define ROPEKIT_DETAIL_X86_AVX512_BF16_HPP

#include <cstdint>

#include "../frequencies.hpp"
#include "../layout.hpp"
#include "../positions.hpp"
#include "../storage.hpp"
#include "../version.hpp"
#include "../view.hpp"
#include "job.hpp"
#include "x86_avx512.hpp"

#include "macros_begin.inl"

#if ROPEKIT_COMPILE_AVX512_BF16

#include <immintrin.h>

ROPEKIT_TARGET_PUSH_AVX512_BF16
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
ROPEKIT_BEGIN_KERNEL_NAMESPACE
namespace detail {
namespace ROPEKIT_TU_NAMESPACE {
namespace avx512_bf16 {

struct ops : avx512::ops {
  using avx512::ops::store;
  using avx512::ops::store_partial;

  // Lanes the instruction would get wrong: quiet NaN (0x01), subnormal
  // (0x20), signalling NaN (0x80).
  ROPEKIT_INLINE static __mmask16 unusual(vf v) {
    return _mm512_fpclass_ps_mask(v, 0x01 | 0x20 | 0x80);
  }
  ROPEKIT_INLINE static bool usual(vf a, vf b) {
    return _kortestz_mask16_u8(unusual(a), unusual(b)) != 0;
  }
  ROPEKIT_INLINE static __m256i narrow(vf v) {
    return reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v));
  }
  // [a0 .. a15 b0 .. b15]
  ROPEKIT_INLINE static __m512i narrow2(vf a, vf b) {
    return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(b, a));
  }

  ROPEKIT_INLINE static void store(Eigen::bfloat16* p, vf v) {
    if (__builtin_expect(unusual(v) == 0, 1)) return store_bits(p, narrow(v));
    exact_store(p, v);
  }
  ROPEKIT_INLINE static void store_partial(Eigen::bfloat16* p, vf v, int n) {
    if (__builtin_expect(_mm512_mask_fpclass_ps_mask(lanes(n), v, 0x01 | 0x20 | 0x80) == 0, 1))
      return store_bits_partial(p, narrow(v), n);
    exact_store_partial(p, v, n);
  }
  ROPEKIT_INLINE static void store2(Eigen::bfloat16* p, vf a, vf b) {
    if (__builtin_expect(usual(a, b), 1)) return _mm512_storeu_si512(p, narrow2(a, b));
    exact_store(p, a);
    exact_store(p + kF, b);
  }
  // Words of [low0 high0 low1 high1 ...]: both narrowed at once, then
  // interleaved by one word permute.
  ROPEKIT_INLINE static void store_words(Eigen::bfloat16* p, vf low, vf high) {
    if (__builtin_expect(usual(low, high), 1)) {
      const __m512i interleave = _mm512_setr_epi32(
          0x100000, 0x110001, 0x120002, 0x130003, 0x140004, 0x150005, 0x160006, 0x170007, 0x180008,
          0x190009, 0x1A000A, 0x1B000B, 0x1C000C, 0x1D000D, 0x1E000E, 0x1F000F);
      return _mm512_storeu_si512(p, _mm512_permutexvar_epi16(interleave, narrow2(low, high)));
    }
    exact_store_words(p, low, high);
  }

  // The definition itself (Eigen's rounding, lane by lane), out of the
  // loops: vectors with a NaN or subnormal lane are rare.
  ROPEKIT_NOINLINE static void exact_store_partial(Eigen::bfloat16* p, vf v, int n) {
    alignas(64) float lanes[kF];
    _mm512_store_ps(lanes, v);
    for (int i = 0; i < n; ++i) p[i] = Eigen::bfloat16(lanes[i]);
  }
  ROPEKIT_INLINE static void exact_store(Eigen::bfloat16* p, vf v) {
    exact_store_partial(p, v, kF);
  }
  ROPEKIT_NOINLINE static void exact_store_words(Eigen::bfloat16* p, vf low, vf high) {
    alignas(64) float even[kF], odd[kF];
    _mm512_store_ps(even, low);
    _mm512_store_ps(odd, high);
    for (int i = 0; i < kF; ++i) {
      p[2 * i] = Eigen::bfloat16(even[i]);
      p[2 * i + 1] = Eigen::bfloat16(odd[i]);
    }
  }
};

#include "angles-inl.hpp"
#include "kernel-inl.hpp"

}  // namespace avx512_bf16
}  // namespace ROPEKIT_TU_NAMESPACE
}  // namespace detail
ROPEKIT_END_KERNEL_NAMESPACE
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
ROPEKIT_TARGET_POP

#endif  // ROPEKIT_COMPILE_AVX512_BF16

#include "macros_end.inl"
#endif  // ROPEKIT_DETAIL_X86_AVX512_BF16_HPP
