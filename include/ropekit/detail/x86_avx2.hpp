// SPDX-License-Identifier: Apache-2.0
// AVX2 + FMA + F16C kernel: 8 float lanes, 4 double lanes.
#ifndef ROPEKIT_DETAIL_X86_AVX2_HPP
#define ROPEKIT_DETAIL_X86_AVX2_HPP

#include <cstdint>
#include <cstring>

#include "../frequencies.hpp"
#include "../layout.hpp"
#include "../positions.hpp"
#include "../storage.hpp"
#include "../version.hpp"
#include "../view.hpp"
#include "job.hpp"
#include "fp8_x86_avx2.hpp"

#include "macros_begin.inl"

#if ROPEKIT_COMPILE_AVX2

#include <immintrin.h>

ROPEKIT_TARGET_PUSH_AVX2
ROPEKIT_BEGIN_KERNEL_NAMESPACE
namespace detail {
namespace ROPEKIT_TU_NAMESPACE {
namespace avx2 {

#include "short_io-inl.hpp"

struct ops : fp8_ops {
  using fp8_ops::load;
  using fp8_ops::load_partial;
  using fp8_ops::store;
  using fp8_ops::store_partial;
  static constexpr int kF = 8;
  static constexpr int kD = 4;
  using vf = __m256;
  // Whether partial loads/stores are single masked instructions.
  static constexpr bool kNativeMasks = false;
  using vd = __m256d;
  using vi = __m256i;

  // Lanes [0, n) set, for partial float loads and stores.
  ROPEKIT_INLINE static __m256i lane_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }

  ROPEKIT_INLINE static vf load(const float* p) { return _mm256_loadu_ps(p); }
  ROPEKIT_INLINE static void store(float* p, vf v) { _mm256_storeu_ps(p, v); }
  ROPEKIT_INLINE static vf load_partial(const float* p, int n) { return _mm256_maskload_ps(p, lane_mask(n)); }
  ROPEKIT_INLINE static void store_partial(float* p, vf v, int n) { _mm256_maskstore_ps(p, lane_mask(n), v); }

  ROPEKIT_INLINE static vf from_half(__m128i h) { return _mm256_cvtph_ps(h); }
  ROPEKIT_INLINE static __m128i to_half(vf v) {
    return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  ROPEKIT_INLINE static vf from_bfloat16(__m128i h) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  // Round to nearest even, NaN to a quiet NaN of the same sign: bit for bit
  // what Eigen::bfloat16(float) produces. The NaN blend happens before the
  // shift, and the narrowing packs the two 128-bit halves (cheaper than a
  // cross-lane permute on every AVX2 core).
  ROPEKIT_INLINE static __m128i to_bfloat16(vf v) {
    const __m256i high = _mm256_srli_epi32(bfloat16_in_high_half(v), 16);
    // Values are 0..0xFFFF, so unsigned saturation packs them exactly.
    return _mm_packus_epi32(_mm256_castsi256_si128(high), _mm256_extracti128_si256(high, 1));
  }
  // Each lane rounded to bfloat16 in its high 16 bits (low 16 bits: garbage).
  ROPEKIT_INLINE static __m256i bfloat16_in_high_half(vf v) {
    const __m256i bits = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    const __m256i rounded =
        _mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7FFF)), lsb);
    const __m256i quiet_nan = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(INT32_MIN)),
                                              _mm256_set1_epi32(0x7FC00000));
    const __m256i is_nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    return _mm256_blendv_epi8(rounded, quiet_nan, is_nan);
  }

  // Interleaved bfloat16 as 32-bit words, the even element in the low half:
  // a shift and a mask split a word into its two floats and a blend merges
  // two rounded floats back, so no lane shuffles (the pair swap, the
  // widening and the narrowing are all shuffles otherwise).
  static constexpr bool kBfloat16Words = true;
  ROPEKIT_INLINE static vi load_words(const Eigen::bfloat16* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  ROPEKIT_INLINE static vf low_halves(vi words) { return _mm256_castsi256_ps(_mm256_slli_epi32(words, 16)); }
  ROPEKIT_INLINE static vf high_halves(vi words) {
    return _mm256_castsi256_ps(_mm256_and_si256(words, _mm256_set1_epi32(-65536)));
  }
  ROPEKIT_INLINE static void store_words(Eigen::bfloat16* p, vf low, vf high) {
    const __m256i low_bits = _mm256_srli_epi32(bfloat16_in_high_half(low), 16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                        _mm256_blend_epi16(low_bits, bfloat16_in_high_half(high), 0xAA));
  }

  template <class T>
  ROPEKIT_INLINE static __m128i load_bits(const T* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  }
  template <class T>
  ROPEKIT_INLINE static __m128i load_bits_partial(const T* p, int n) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(p);
    const auto size = static_cast<std::size_t>(n) * 2;
    if (size < 8) return _mm_cvtsi64_si128(static_cast<long long>(load_short(bytes, size)));
    const __m128i low = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    if (size == 8) return low;
    return _mm_insert_epi64(low, static_cast<long long>(load_short(bytes + 8, size - 8)), 1);
  }
  template <class T>
  ROPEKIT_INLINE static void store_bits_partial(T* p, __m128i bits, int n) {
    auto* bytes = reinterpret_cast<unsigned char*>(p);
    const auto size = static_cast<std::size_t>(n) * 2;
    if (size < 8) {
      store_short(bytes, static_cast<std::uint64_t>(_mm_cvtsi128_si64(bits)), size);
      return;
    }
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), bits);
    store_short(bytes + 8, static_cast<std::uint64_t>(_mm_extract_epi64(bits, 1)), size - 8);
  }

  ROPEKIT_INLINE static vf load(const Eigen::half* p) { return from_half(load_bits(p)); }
  ROPEKIT_INLINE static void store(Eigen::half* p, vf v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), to_half(v));
  }
  ROPEKIT_INLINE static vf load_partial(const Eigen::half* p, int n) { return from_half(load_bits_partial(p, n)); }
  ROPEKIT_INLINE static void store_partial(Eigen::half* p, vf v, int n) { store_bits_partial(p, to_half(v), n); }

  ROPEKIT_INLINE static vf load(const Eigen::bfloat16* p) { return from_bfloat16(load_bits(p)); }
  ROPEKIT_INLINE static void store(Eigen::bfloat16* p, vf v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), to_bfloat16(v));
  }
  ROPEKIT_INLINE static vf load_partial(const Eigen::bfloat16* p, int n) {
    return from_bfloat16(load_bits_partial(p, n));
  }
  ROPEKIT_INLINE static void store_partial(Eigen::bfloat16* p, vf v, int n) {
    store_bits_partial(p, to_bfloat16(v), n);
  }

  ROPEKIT_INLINE static vf set1(float x) { return _mm256_set1_ps(x); }
  ROPEKIT_INLINE static vf mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
  ROPEKIT_INLINE static vf add(vf a, vf b) { return _mm256_add_ps(a, b); }
  ROPEKIT_INLINE static vf div(vf a, vf b) { return _mm256_div_ps(a, b); }
  ROPEKIT_INLINE static vf fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
  ROPEKIT_INLINE static vf fmsub(vf a, vf b, vf c) { return _mm256_fmsub_ps(a, b, c); }
  // [a0 b0 a1 b1 ...] -> [b0 a0 b1 a1 ...]
  ROPEKIT_INLINE static vf swap_pairs(vf v) { return _mm256_permute_ps(v, 0xB1); }
  // Stores [a0 b0 a1 b1 ... a7 b7] (16 floats) at p.
  ROPEKIT_INLINE static void zip(vf a, vf b, float* p) {
    const __m256 low = _mm256_unpacklo_ps(a, b);   // a0 b0 a1 b1 | a4 b4 a5 b5
    const __m256 high = _mm256_unpackhi_ps(a, b);  // a2 b2 a3 b3 | a6 b6 a7 b7
    _mm256_storeu_ps(p, _mm256_permute2f128_ps(low, high, 0x20));
    _mm256_storeu_ps(p + 8, _mm256_permute2f128_ps(low, high, 0x31));
  }

  ROPEKIT_INLINE static vd set1_d(double x) { return _mm256_set1_pd(x); }
  ROPEKIT_INLINE static vd load_d(const double* p) { return _mm256_loadu_pd(p); }
  ROPEKIT_INLINE static void store_d(double* p, vd v) { _mm256_storeu_pd(p, v); }
  ROPEKIT_INLINE static void widen_d(vf v, vd& lo, vd& hi) {
    lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
  }
  ROPEKIT_INLINE static vd add_d(vd a, vd b) { return _mm256_add_pd(a, b); }
  ROPEKIT_INLINE static vd sub_d(vd a, vd b) { return _mm256_sub_pd(a, b); }
  ROPEKIT_INLINE static vd mul_d(vd a, vd b) { return _mm256_mul_pd(a, b); }
  ROPEKIT_INLINE static vd div_d(vd a, vd b) { return _mm256_div_pd(a, b); }
  ROPEKIT_INLINE static vd sqrt_d(vd a) { return _mm256_sqrt_pd(a); }
  ROPEKIT_INLINE static vd fma_d(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }
  ROPEKIT_INLINE static vd fms_d(vd a, vd b, vd c) { return _mm256_fmsub_pd(a, b, c); }
  ROPEKIT_INLINE static vd round_d(vd a) { return _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  ROPEKIT_INLINE static vf to_float(vd lo, vd hi) { return _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo)); }
  // Integer-valued doubles (quarter turns, below 2^51) to int32 lanes mod
  // 2^32: adding 1.5 * 2^52 puts the integer in the low mantissa bits, and
  // two in-lane shuffles pack those words (cvtpd_epi32 would saturate).
  ROPEKIT_INLINE static vi to_int(vd lo, vd hi) {
    const vd shift = _mm256_set1_pd(6755399441055744.0);
    const __m256 words = _mm256_shuffle_ps(_mm256_castpd_ps(_mm256_add_pd(lo, shift)),
                                           _mm256_castpd_ps(_mm256_add_pd(hi, shift)), 0x88);
    // [lo0 lo1 hi0 hi1 | lo2 lo3 hi2 hi3] -> [lo0..lo3 | hi0..hi3]
    return _mm256_castpd_si256(_mm256_permute4x64_pd(_mm256_castps_pd(words), 0xD8));
  }

  // Given sin x, cos x and the quarter turn q, make them sin and cos of
  // q*pi/2 + x: odd q swaps them; sin's sign is bit 1 of q and cos's is
  // bit 1 of q + 1, which is bit 1 of q xor bit 0.
  ROPEKIT_INLINE static void quadrant_fixup(vi q, vf& s, vf& c) {
    const __m256i odd = _mm256_slli_epi32(q, 31);
    const __m256 swapped_s = _mm256_blendv_ps(s, c, _mm256_castsi256_ps(odd));
    const __m256 swapped_c = _mm256_blendv_ps(c, s, _mm256_castsi256_ps(odd));
    const __m256i s_sign = _mm256_and_si256(_mm256_slli_epi32(q, 30), _mm256_set1_epi32(INT32_MIN));
    const __m256i c_sign = _mm256_xor_si256(s_sign, odd);
    s = _mm256_xor_ps(swapped_s, _mm256_castsi256_ps(s_sign));
    c = _mm256_xor_ps(swapped_c, _mm256_castsi256_ps(c_sign));
  }
};

#include "angles-inl.hpp"
#include "kernel-inl.hpp"

}  // namespace avx2
}  // namespace ROPEKIT_TU_NAMESPACE
}  // namespace detail
ROPEKIT_END_KERNEL_NAMESPACE
ROPEKIT_TARGET_POP

#endif  // ROPEKIT_COMPILE_AVX2

#include "macros_end.inl"
#endif  // ROPEKIT_DETAIL_X86_AVX2_HPP
