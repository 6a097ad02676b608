// SPDX-License-Identifier: Apache-2.0
// AVX-512 (F, BW, VL, DQ) kernel: 16 float lanes, 8 double lanes, masked
// tails. Conversions use F16C-equivalent AVX-512F instructions and an exact
// integer rounding for bfloat16. bfloat16 loops are bound by that rounding,
// not by memory (Emerald Rapids Xeon, prefill 4096: the bfloat16 in-place
// pass 29-30 GB/s, float's 47); CPUs with AVX512_BF16 take the avx512_bf16
// path instead (x86_avx512_bf16.hpp).
#ifndef ROPEKIT_DETAIL_X86_AVX512_HPP
#define ROPEKIT_DETAIL_X86_AVX512_HPP

#include <cstdint>

#include "../frequencies.hpp"
#include "../layout.hpp"
#include "../positions.hpp"
#include "../storage.hpp"
#include "../version.hpp"
#include "../view.hpp"
#include "job.hpp"
#include "fp8_x86_avx512.hpp"

#include "macros_begin.inl"

#if ROPEKIT_COMPILE_AVX512

#include <immintrin.h>

ROPEKIT_TARGET_PUSH_AVX512
// GCC 12 reports -Wmaybe-uninitialized inside AVX-512 intrinsics that pass
// _mm512_undefined_*() through (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
ROPEKIT_BEGIN_KERNEL_NAMESPACE
namespace detail {
namespace ROPEKIT_TU_NAMESPACE {
namespace avx512 {

struct ops : fp8_ops {
  using fp8_ops::load;
  using fp8_ops::load_partial;
  using fp8_ops::store;
  using fp8_ops::store_partial;
  static constexpr int kF = 16;
  static constexpr int kD = 8;
  using vf = __m512;
  // Whether partial loads/stores are single masked instructions.
  static constexpr bool kNativeMasks = true;
  // Interleaved bfloat16 as 32-bit words (see x86_avx2.hpp).
  static constexpr bool kBfloat16Words = true;
  using vd = __m512d;
  using vi = __m512i;

  ROPEKIT_INLINE static __mmask16 lanes(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  // Partial moves of at most half a vector use the half-width instruction:
  // a masked move whose full width crosses a cache line is split even when
  // its active lanes do not. GPT-NeoX-20B (24 of 96 channels, 8-channel
  // tails), rows 16 bytes past a line, interleaved, prefill 4096, Xeon, of
  // the in-place pass: bfloat16 1.59 -> 2.6 and half 1.4 -> 2.4-2.9 (AVX2
  // path 2.7 and 2.2-3.2), float 1.2 -> 1.3-1.4. Longer tails in two
  // half-width pieces (12-pair half-split tails) measured no better.
  ROPEKIT_INLINE static __mmask8 lanes8(int n) { return static_cast<__mmask8>((1u << n) - 1u); }

  ROPEKIT_INLINE static vf load(const float* p) { return _mm512_loadu_ps(p); }
  ROPEKIT_INLINE static void store(float* p, vf v) { _mm512_storeu_ps(p, v); }
  ROPEKIT_INLINE static vf load_partial(const float* p, int n) {
    if (n <= kF / 2) return _mm512_zextps256_ps512(_mm256_maskz_loadu_ps(lanes8(n), p));
    return _mm512_maskz_loadu_ps(lanes(n), p);
  }
  ROPEKIT_INLINE static void store_partial(float* p, vf v, int n) {
    if (n <= kF / 2) return _mm256_mask_storeu_ps(p, lanes8(n), _mm512_castps512_ps256(v));
    _mm512_mask_storeu_ps(p, lanes(n), v);
  }

  ROPEKIT_INLINE static vf from_half(__m256i h) { return _mm512_cvtph_ps(h); }
  ROPEKIT_INLINE static __m256i to_half(vf v) {
    return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // Word i into the high half of lane i, low halves zeroed: one permute
  // (a widening and a shift took two operations).
  ROPEKIT_INLINE static vf from_bfloat16(__m256i h) {
    const __m512i to_high_halves =
        _mm512_setr_epi32(0, 1 << 16, 2 << 16, 3 << 16, 4 << 16, 5 << 16, 6 << 16, 7 << 16, 8 << 16,
                          9 << 16, 10 << 16, 11 << 16, 12 << 16, 13 << 16, 14 << 16, 15 << 16);
    return _mm512_castsi512_ps(
        _mm512_maskz_permutexvar_epi16(0xAAAAAAAAu, to_high_halves, _mm512_zextsi256_si512(h)));
  }
  // Round to nearest even, NaN to a quiet NaN of the same sign (as Eigen).
  // The lanes' high halves gathered by one word permute (a shift then
  // vpmovdw took three micro-ops, two of them on the shuffle port).
  ROPEKIT_INLINE static __m256i to_bfloat16(vf v) {
    const __m512i high_words = _mm512_setr_epi32(0x30001, 0x70005, 0xB0009, 0xF000D, 0x130011,
                                                 0x170015, 0x1B0019, 0x1F001D, 0, 0, 0, 0, 0, 0,
                                                 0, 0);
    return _mm512_castsi512_si256(
        _mm512_permutexvar_epi16(high_words, bfloat16_in_high_half(v)));
  }
  // Each lane rounded to bfloat16 in its high 16 bits (low 16 bits: garbage).
  ROPEKIT_INLINE static __m512i bfloat16_in_high_half(vf v) {
    const __m512i bits = _mm512_castps_si512(v);
    // + 0x7FFF, or + 0x8000 where the bfloat16's last bit (bit 16) is set:
    // ties to even, in three operations instead of four.
    const __mmask16 odd = _mm512_test_epi32_mask(bits, _mm512_set1_epi32(0x10000));
    const __m512i rounded = _mm512_mask_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)),
                                                  odd, bits, _mm512_set1_epi32(0x8000));
    const __m512i quiet_nan = _mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi32(INT32_MIN)),
                                              _mm512_set1_epi32(0x7FC00000));
    const __mmask16 is_nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    return _mm512_mask_blend_epi32(is_nan, rounded, quiet_nan);
  }

  ROPEKIT_INLINE static vi load_words(const Eigen::bfloat16* p) { return _mm512_loadu_si512(p); }
  ROPEKIT_INLINE static vf low_halves(vi words) { return _mm512_castsi512_ps(_mm512_slli_epi32(words, 16)); }
  ROPEKIT_INLINE static vf high_halves(vi words) {
    return _mm512_castsi512_ps(_mm512_and_si512(words, _mm512_set1_epi32(-65536)));
  }
  ROPEKIT_INLINE static void store_words(Eigen::bfloat16* p, vf low, vf high) {
    const __m512i low_bits = _mm512_srli_epi32(bfloat16_in_high_half(low), 16);
    _mm512_storeu_si512(p, _mm512_mask_blend_epi16(0xAAAAAAAAu, low_bits,
                                                   bfloat16_in_high_half(high)));
  }

  template <class T>
  ROPEKIT_INLINE static __m256i load_bits(const T* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  template <class T>
  ROPEKIT_INLINE static __m256i load_bits_partial(const T* p, int n) {
    if (n <= kF / 2) return _mm256_zextsi128_si256(_mm_maskz_loadu_epi16(lanes8(n), p));
    return _mm256_maskz_loadu_epi16(lanes(n), p);
  }
  template <class T>
  ROPEKIT_INLINE static void store_bits(T* p, __m256i bits) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), bits);
  }
  template <class T>
  ROPEKIT_INLINE static void store_bits_partial(T* p, __m256i bits, int n) {
    if (n <= kF / 2) return _mm_mask_storeu_epi16(p, lanes8(n), _mm256_castsi256_si128(bits));
    _mm256_mask_storeu_epi16(p, lanes(n), bits);
  }

  ROPEKIT_INLINE static vf load(const Eigen::half* p) { return from_half(load_bits(p)); }
  ROPEKIT_INLINE static void store(Eigen::half* p, vf v) { store_bits(p, to_half(v)); }
  ROPEKIT_INLINE static vf load_partial(const Eigen::half* p, int n) { return from_half(load_bits_partial(p, n)); }
  ROPEKIT_INLINE static void store_partial(Eigen::half* p, vf v, int n) { store_bits_partial(p, to_half(v), n); }

  ROPEKIT_INLINE static vf load(const Eigen::bfloat16* p) { return from_bfloat16(load_bits(p)); }
  ROPEKIT_INLINE static void store(Eigen::bfloat16* p, vf v) { store_bits(p, to_bfloat16(v)); }
  ROPEKIT_INLINE static vf load_partial(const Eigen::bfloat16* p, int n) {
    return from_bfloat16(load_bits_partial(p, n));
  }
  ROPEKIT_INLINE static void store_partial(Eigen::bfloat16* p, vf v, int n) {
    store_bits_partial(p, to_bfloat16(v), n);
  }

  ROPEKIT_INLINE static vf set1(float x) { return _mm512_set1_ps(x); }
  ROPEKIT_INLINE static vf mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
  ROPEKIT_INLINE static vf add(vf a, vf b) { return _mm512_add_ps(a, b); }
  ROPEKIT_INLINE static vf div(vf a, vf b) { return _mm512_div_ps(a, b); }
  ROPEKIT_INLINE static vf fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
  ROPEKIT_INLINE static vf fmsub(vf a, vf b, vf c) { return _mm512_fmsub_ps(a, b, c); }
  ROPEKIT_INLINE static vf swap_pairs(vf v) { return _mm512_permute_ps(v, 0xB1); }
  // Stores [a0 b0 a1 b1 ... a15 b15] (32 floats) at p.
  ROPEKIT_INLINE static void zip(vf a, vf b, float* p) {
    const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    _mm512_storeu_ps(p, _mm512_permutex2var_ps(a, low, b));
    _mm512_storeu_ps(p + 16, _mm512_permutex2var_ps(a, high, b));
  }

  ROPEKIT_INLINE static vd set1_d(double x) { return _mm512_set1_pd(x); }
  ROPEKIT_INLINE static vd load_d(const double* p) { return _mm512_loadu_pd(p); }
  ROPEKIT_INLINE static void store_d(double* p, vd v) { _mm512_storeu_pd(p, v); }
  ROPEKIT_INLINE static void widen_d(vf v, vd& lo, vd& hi) {
    lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
  }
  ROPEKIT_INLINE static vd add_d(vd a, vd b) { return _mm512_add_pd(a, b); }
  ROPEKIT_INLINE static vd sub_d(vd a, vd b) { return _mm512_sub_pd(a, b); }
  ROPEKIT_INLINE static vd mul_d(vd a, vd b) { return _mm512_mul_pd(a, b); }
  ROPEKIT_INLINE static vd div_d(vd a, vd b) { return _mm512_div_pd(a, b); }
  ROPEKIT_INLINE static vd sqrt_d(vd a) { return _mm512_sqrt_pd(a); }
  ROPEKIT_INLINE static vd fma_d(vd a, vd b, vd c) { return _mm512_fmadd_pd(a, b, c); }
  ROPEKIT_INLINE static vd fms_d(vd a, vd b, vd c) { return _mm512_fmsub_pd(a, b, c); }
  ROPEKIT_INLINE static vd round_d(vd a) {
    return _mm512_roundscale_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  ROPEKIT_INLINE static vf to_float(vd lo, vd hi) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
  }
  // See the AVX2 version; vpmovqd keeps each lane's low word.
  ROPEKIT_INLINE static vi to_int(vd lo, vd hi) {
    const vd shift = _mm512_set1_pd(6755399441055744.0);
    return _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm512_cvtepi64_epi32(_mm512_castpd_si512(_mm512_add_pd(lo, shift)))),
        _mm512_cvtepi64_epi32(_mm512_castpd_si512(_mm512_add_pd(hi, shift))), 1);
  }

  // See the AVX2 version.
  ROPEKIT_INLINE static void quadrant_fixup(vi q, vf& s, vf& c) {
    const __mmask16 odd = _mm512_test_epi32_mask(q, _mm512_set1_epi32(1));
    const __m512 swapped_s = _mm512_mask_blend_ps(odd, s, c);
    const __m512 swapped_c = _mm512_mask_blend_ps(odd, c, s);
    const __m512i s_sign = _mm512_and_si512(_mm512_slli_epi32(q, 30), _mm512_set1_epi32(INT32_MIN));
    const __m512i c_sign = _mm512_xor_si512(s_sign, _mm512_slli_epi32(q, 31));
    s = _mm512_xor_ps(swapped_s, _mm512_castsi512_ps(s_sign));
    c = _mm512_xor_ps(swapped_c, _mm512_castsi512_ps(c_sign));
  }
};

#include "angles-inl.hpp"
#include "kernel-inl.hpp"

}  // namespace avx512
}  // namespace ROPEKIT_TU_NAMESPACE
}  // namespace detail
ROPEKIT_END_KERNEL_NAMESPACE
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
ROPEKIT_TARGET_POP

#endif  // ROPEKIT_COMPILE_AVX512

#include "macros_end.inl"
#endif  // ROPEKIT_DETAIL_X86_AVX512_HPP
