// SPDX-License-Identifier: Apache-2.0
// FP8 <-> float for the AVX2 kernel: 8 codes (8 bytes) per float vector.
// Bit for bit the scalar conversions of fp8.hpp.
//
// Decoding puts each code in the high byte of a binary16 lane: E5M2 then is
// binary16, which F16C widens exactly; E4M3 shifted right one bit is a
// binary16 with 2^-8 the value (exponent field 0..15, subnormals included),
// so one exact multiplication by 256 finishes it, and S.1111.111 (which
// comes out as +-480) is turned into NaN. F16C widens binary16 subnormals
// regardless of MXCSR.DAZ, and no intermediate is a float subnormal.
//
// Encoding works on the float bits as the scalar version does, except that
// the subnormal range is rounded by one float addition of a power of two
// whose ulp is the smallest subnormal (round-to-nearest-even, the default
// mode); a float subnormal input is zero either way, so DAZ is harmless.
#ifndef ROPEKIT_DETAIL_FP8_X86_AVX2_HPP
#define ROPEKIT_DETAIL_FP8_X86_AVX2_HPP

#include <cstdint>
#include <cstring>

#include "../fp8.hpp"
#include "../version.hpp"

#include "macros_begin.inl"

#if ROPEKIT_COMPILE_AVX2

#include <immintrin.h>

ROPEKIT_TARGET_PUSH_AVX2
ROPEKIT_BEGIN_KERNEL_NAMESPACE
namespace detail {
namespace ROPEKIT_TU_NAMESPACE {
namespace avx2 {

#include "byte_io-inl.hpp"

struct fp8_ops {
  static constexpr int kF = 8;
  using vf = __m256;

  // Codes in the low 8 bytes -> 8 floats.
  template <class Format>
  ROPEKIT_INLINE static vf decode(__m128i codes) {
    const __m128i high_bytes = _mm_unpacklo_epi8(_mm_setzero_si128(), codes);
    if constexpr (Format::kHasInfinity) {
      return _mm256_cvtph_ps(high_bytes);
    } else {
      // The arithmetic shift copies the sign into bit 14, which the mask clears.
      const __m128i half_bits =
          _mm_and_si128(_mm_srai_epi16(high_bytes, 1), _mm_set1_epi16(static_cast<short>(0xBFFF)));
      const __m256 value = _mm256_mul_ps(_mm256_cvtph_ps(half_bits), _mm256_set1_ps(256.0f));
      const __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), value);
      const __m256 nan = _mm256_cmp_ps(magnitude, _mm256_set1_ps(480.0f), _CMP_EQ_OQ);
      return _mm256_or_ps(value,
                          _mm256_and_ps(nan, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FF00000))));
    }
  }

  // 8 floats -> codes in the low 8 bytes (round to nearest even, saturating).
  template <class Format>
  ROPEKIT_INLINE static __m128i encode(vf v) {
    using C = fp8_constants<Format>;
    const __m256i bits = _mm256_castps_si256(v);
    const __m256i magnitude = _mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFFFF));
    // Signed min is right: both operands are non-negative as int32.
    const __m256i m = _mm256_min_epi32(magnitude, _mm256_set1_epi32(C::kMaxFiniteBits));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(m, C::kShift), _mm256_set1_epi32(1));
    const __m256i normal = _mm256_srli_epi32(
        _mm256_add_epi32(_mm256_add_epi32(m, _mm256_set1_epi32(static_cast<int>(C::kRoundAndRebias))),
                         lsb),
        C::kShift);
    const __m256 magic = _mm256_castsi256_ps(_mm256_set1_epi32(C::kSubnormalMagicBits));
    const __m256i subnormal = _mm256_sub_epi32(
        _mm256_castps_si256(_mm256_add_ps(_mm256_castsi256_ps(m), magic)), _mm256_castps_si256(magic));
    const __m256i is_subnormal = _mm256_cmpgt_epi32(_mm256_set1_epi32(C::kMinNormalBits), m);
    __m256i code = _mm256_blendv_epi8(normal, subnormal, is_subnormal);
    // Every code is <= 0x7F, so OR-ing 0x7F makes NaN lanes the NaN code.
    const __m256i is_nan = _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7F800000));
    code = _mm256_or_si256(code, _mm256_and_si256(is_nan, _mm256_set1_epi32(C::kNanCode)));
    code = _mm256_or_si256(code,
                           _mm256_and_si256(_mm256_srli_epi32(bits, 24), _mm256_set1_epi32(0x80)));
    // Values are 0..0xFF: unsigned saturation packs them exactly.
    const __m128i words =
        _mm_packus_epi32(_mm256_castsi256_si128(code), _mm256_extracti128_si256(code, 1));
    return _mm_packus_epi16(words, words);
  }

  template <class Format>
  ROPEKIT_INLINE static vf load(const basic_float8<Format>* p) {
    return decode<Format>(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  template <class Format>
  ROPEKIT_INLINE static void store(basic_float8<Format>* p, vf v) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), encode<Format>(v));
  }
  // n in [0, kF): reads or writes exactly n bytes; lanes [n, kF) load as +0.
  template <class Format>
  ROPEKIT_INLINE static vf load_partial(const basic_float8<Format>* p, int n) {
    const std::uint64_t codes =
        load_bytes(reinterpret_cast<const unsigned char*>(p), static_cast<std::size_t>(n));
    return decode<Format>(_mm_cvtsi64_si128(static_cast<long long>(codes)));
  }
  template <class Format>
  ROPEKIT_INLINE static void store_partial(basic_float8<Format>* p, vf v, int n) {
    store_bytes(reinterpret_cast<unsigned char*>(p),
                static_cast<std::uint64_t>(_mm_cvtsi128_si64(encode<Format>(v))),
                static_cast<std::size_t>(n));
  }

  ROPEKIT_INLINE static vf load(const float* p) { return _mm256_loadu_ps(p); }
  ROPEKIT_INLINE static void store(float* p, vf v) { _mm256_storeu_ps(p, v); }
  ROPEKIT_INLINE static vf set1(float x) { return _mm256_set1_ps(x); }
  ROPEKIT_INLINE static vf mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
  // The quantization divides (see fp8.hpp): correctly rounded, as x / scale.
  ROPEKIT_INLINE static vf div(vf a, vf b) { return _mm256_div_ps(a, b); }
};

#include "fp8_array-inl.hpp"

}  // namespace avx2
}  // namespace ROPEKIT_TU_NAMESPACE
}  // namespace detail
ROPEKIT_END_KERNEL_NAMESPACE
ROPEKIT_TARGET_POP

#endif  // ROPEKIT_COMPILE_AVX2

#include "macros_end.inl"
#endif  // ROPEKIT_DETAIL_FP8_X86_AVX2_HPP
