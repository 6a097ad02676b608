// SPDX-License-Identifier: Apache-2.0
// FP8 <-> float for the AVX-512 kernel (F, BW, VL, DQ): 16 codes (16 bytes)
// per float vector, partial vectors as masked byte moves. The same method as
// fp8_x86_avx2.hpp (see there); bit for bit the scalar conversions of
// fp8.hpp. No AVX512-FP16/BF16 or AVX10 conversion instructions: they would
// need a further dispatch level for a few operations per 16 elements of a
// memory-bound loop.
#ifndef ROPEKIT_DETAIL_FP8_X86_AVX512_HPP
#define ROPEKIT_DETAIL_FP8_X86_AVX512_HPP

#include <cstdint>
#include <cstring>

#include "../fp8.hpp"
#include "../version.hpp"

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

struct fp8_ops {
  static constexpr int kF = 16;
  using vf = __m512;

  ROPEKIT_INLINE static __mmask16 lanes(int n) { return static_cast<__mmask16>((1u << n) - 1u); }

  // 16 codes -> 16 floats.
  template <class Format>
  ROPEKIT_INLINE static vf decode(__m128i codes) {
    const __m256i high_bytes = _mm256_slli_epi16(_mm256_cvtepu8_epi16(codes), 8);
    if constexpr (Format::kHasInfinity) {
      return _mm512_cvtph_ps(high_bytes);
    } else {
      const __m256i half_bits = _mm256_and_si256(_mm256_srai_epi16(high_bytes, 1),
                                                 _mm256_set1_epi16(static_cast<short>(0xBFFF)));
      const __m512 value = _mm512_mul_ps(_mm512_cvtph_ps(half_bits), _mm512_set1_ps(256.0f));
      const __mmask16 nan = _mm512_cmp_ps_mask(_mm512_abs_ps(value), _mm512_set1_ps(480.0f), _CMP_EQ_OQ);
      const __m512i bits = _mm512_castps_si512(value);
      return _mm512_castsi512_ps(
          _mm512_mask_or_epi32(bits, nan, bits, _mm512_set1_epi32(0x7FF00000)));
    }
  }

  // 16 floats -> 16 codes in the low byte of each 32-bit lane.
  template <class Format>
  ROPEKIT_INLINE static __m512i encode(vf v) {
    using C = fp8_constants<Format>;
    const __m512i bits = _mm512_castps_si512(v);
    const __m512i magnitude = _mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF));
    const __m512i m = _mm512_min_epi32(magnitude, _mm512_set1_epi32(C::kMaxFiniteBits));
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(m, C::kShift), _mm512_set1_epi32(1));
    const __m512i normal = _mm512_srli_epi32(
        _mm512_add_epi32(_mm512_add_epi32(m, _mm512_set1_epi32(static_cast<int>(C::kRoundAndRebias))),
                         lsb),
        C::kShift);
    const __m512 magic = _mm512_castsi512_ps(_mm512_set1_epi32(C::kSubnormalMagicBits));
    const __m512i subnormal = _mm512_sub_epi32(
        _mm512_castps_si512(_mm512_add_ps(_mm512_castsi512_ps(m), magic)), _mm512_castps_si512(magic));
    const __mmask16 is_subnormal = _mm512_cmplt_epi32_mask(m, _mm512_set1_epi32(C::kMinNormalBits));
    __m512i code = _mm512_mask_blend_epi32(is_subnormal, normal, subnormal);
    const __mmask16 is_nan = _mm512_cmpgt_epi32_mask(magnitude, _mm512_set1_epi32(0x7F800000));
    code = _mm512_mask_or_epi32(code, is_nan, code, _mm512_set1_epi32(C::kNanCode));
    // code | ((bits >> 24) & 0x80)
    return _mm512_ternarylogic_epi32(code, _mm512_srli_epi32(bits, 24), _mm512_set1_epi32(0x80), 0xF8);
  }

  template <class Format>
  ROPEKIT_INLINE static vf load(const basic_float8<Format>* p) {
    return decode<Format>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  template <class Format>
  ROPEKIT_INLINE static void store(basic_float8<Format>* p, vf v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtepi32_epi8(encode<Format>(v)));
  }
  // n in [0, kF): reads or writes exactly n bytes; lanes [n, kF) load as +0.
  template <class Format>
  ROPEKIT_INLINE static vf load_partial(const basic_float8<Format>* p, int n) {
    return decode<Format>(_mm_maskz_loadu_epi8(lanes(n), p));
  }
  template <class Format>
  ROPEKIT_INLINE static void store_partial(basic_float8<Format>* p, vf v, int n) {
    _mm512_mask_cvtepi32_storeu_epi8(p, lanes(n), encode<Format>(v));
  }

  ROPEKIT_INLINE static vf load(const float* p) { return _mm512_loadu_ps(p); }
  ROPEKIT_INLINE static void store(float* p, vf v) { _mm512_storeu_ps(p, v); }
  ROPEKIT_INLINE static vf set1(float x) { return _mm512_set1_ps(x); }
  ROPEKIT_INLINE static vf mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
  // The quantization divides (see fp8.hpp): correctly rounded, as x / scale.
  ROPEKIT_INLINE static vf div(vf a, vf b) { return _mm512_div_ps(a, b); }
};

#include "fp8_array-inl.hpp"

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
#endif  // ROPEKIT_DETAIL_FP8_X86_AVX512_HPP
