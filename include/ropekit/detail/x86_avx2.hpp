// SPDX-License-Identifier: Apache-2.0
// AVX2 + FMA + F16C kernel: 8 float lanes, 4 double lanes.
#ifndef ROPEKIT_DETAIL_X86_AVX2_HPP
#define ROPEKIT_DETAIL_X86_AVX2_HPP

#include "isa_config.hpp"

#if ROPEKIT_COMPILE_AVX2

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "../frequencies.hpp"
#include "../layout.hpp"
#include "../positions.hpp"
#include "../storage.hpp"
#include "../version.hpp"
#include "../view.hpp"
#include "reference.hpp"

ROPEKIT_TARGET_PUSH_AVX2
ROPEKIT_BEGIN_NAMESPACE
namespace detail {
namespace ROPEKIT_TU_NAMESPACE {
namespace avx2 {

struct ops {
  static constexpr int kF = 8;
  static constexpr int kD = 4;
  using vf = __m256;
  using vd = __m256d;

  // Lanes [0, n) set, for partial float loads and stores.
  static __m256i lane_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }

  static vf load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, vf v) { _mm256_storeu_ps(p, v); }
  static vf load_partial(const float* p, int n) { return _mm256_maskload_ps(p, lane_mask(n)); }
  static void store_partial(float* p, vf v, int n) { _mm256_maskstore_ps(p, lane_mask(n), v); }

  static vf from_half(__m128i h) { return _mm256_cvtph_ps(h); }
  static __m128i to_half(vf v) {
    return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static vf from_bfloat16(__m128i h) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  // Round to nearest even, NaN to a quiet NaN of the same sign: bit for bit
  // what Eigen::bfloat16(float) produces. The NaN blend happens before the
  // shift, and the narrowing packs the two 128-bit halves (cheaper than a
  // cross-lane permute on every AVX2 core).
  static __m128i to_bfloat16(vf v) {
    const __m256i bits = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    const __m256i rounded =
        _mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7FFF)), lsb);
    const __m256i quiet_nan = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(INT32_MIN)),
                                              _mm256_set1_epi32(0x7FC00000));
    const __m256i is_nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    const __m256i high =
        _mm256_srli_epi32(_mm256_blendv_epi8(rounded, quiet_nan, is_nan), 16);
    // Values are 0..0xFFFF, so unsigned saturation packs them exactly.
    return _mm_packus_epi32(_mm256_castsi256_si128(high), _mm256_extracti128_si256(high, 1));
  }

  template <class T>
  static __m128i load_bits(const T* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  }
  template <class T>
  static __m128i load_bits_partial(const T* p, int n) {
    std::uint16_t tmp[8] = {};
    std::memcpy(tmp, p, static_cast<std::size_t>(n) * 2);
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(tmp));
  }
  template <class T>
  static void store_bits_partial(T* p, __m128i bits, int n) {
    std::uint16_t tmp[8];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(tmp), bits);
    std::memcpy(p, tmp, static_cast<std::size_t>(n) * 2);
  }

  static vf load(const Eigen::half* p) { return from_half(load_bits(p)); }
  static void store(Eigen::half* p, vf v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), to_half(v));
  }
  static vf load_partial(const Eigen::half* p, int n) { return from_half(load_bits_partial(p, n)); }
  static void store_partial(Eigen::half* p, vf v, int n) { store_bits_partial(p, to_half(v), n); }

  static vf load(const Eigen::bfloat16* p) { return from_bfloat16(load_bits(p)); }
  static void store(Eigen::bfloat16* p, vf v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), to_bfloat16(v));
  }
  static vf load_partial(const Eigen::bfloat16* p, int n) {
    return from_bfloat16(load_bits_partial(p, n));
  }
  static void store_partial(Eigen::bfloat16* p, vf v, int n) {
    store_bits_partial(p, to_bfloat16(v), n);
  }

  static vf mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
  static vf fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
  static vf fmsub(vf a, vf b, vf c) { return _mm256_fmsub_ps(a, b, c); }
  // [a0 b0 a1 b1 ...] -> [b0 a0 b1 a1 ...]
  static vf swap_pairs(vf v) { return _mm256_permute_ps(v, 0xB1); }

  static vd set1_d(double x) { return _mm256_set1_pd(x); }
  static vd load_d(const double* p) { return _mm256_loadu_pd(p); }
  static vd add_d(vd a, vd b) { return _mm256_add_pd(a, b); }
  static vd sub_d(vd a, vd b) { return _mm256_sub_pd(a, b); }
  static vd mul_d(vd a, vd b) { return _mm256_mul_pd(a, b); }
  static vd fma_d(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }
  static vd round_d(vd a) { return _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static void store_d_as_f(float* p, vd v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }

  // Given sin x, cos x and the quarter turn q (an integer-valued double),
  // make them sin and cos of q*pi/2 + x: odd q swaps them, and the signs
  // follow bit 1 of q (sin) and of q + 1 (cos).
  static void quadrant_fixup(vd quadrant, vd& s, vd& c) {
    const __m256i q = _mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(quadrant));
    const __m256d odd = _mm256_castsi256_pd(_mm256_slli_epi64(q, 63));
    const __m256d swapped_s = _mm256_blendv_pd(s, c, odd);
    const __m256d swapped_c = _mm256_blendv_pd(c, s, odd);
    const __m256i sign = _mm256_set1_epi64x(INT64_MIN);
    const __m256i s_sign = _mm256_and_si256(_mm256_slli_epi64(q, 62), sign);
    const __m256i c_sign =
        _mm256_and_si256(_mm256_slli_epi64(_mm256_add_epi64(q, _mm256_set1_epi64x(1)), 62), sign);
    s = _mm256_xor_pd(swapped_s, _mm256_castsi256_pd(s_sign));
    c = _mm256_xor_pd(swapped_c, _mm256_castsi256_pd(c_sign));
  }
};

#include "kernel-inl.hpp"

}  // namespace avx2
}  // namespace ROPEKIT_TU_NAMESPACE
}  // namespace detail
ROPEKIT_END_NAMESPACE
ROPEKIT_TARGET_POP

#endif  // ROPEKIT_COMPILE_AVX2
#endif  // ROPEKIT_DETAIL_X86_AVX2_HPP
