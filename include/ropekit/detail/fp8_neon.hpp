// SPDX-License-Identifier: Apache-2.0
// FP8 <-> float for the AArch64 NEON kernel: 4 codes (4 bytes) per float
// vector. The same method as fp8_x86_avx2.hpp (see there), with FCVTL for
// the binary16 widening; bit for bit the scalar conversions of fp8.hpp under
// the default FPCR (round to nearest, which Linux starts processes with).
// The Arm ARM's FPUnpackCV ignores FPCR.FZ16 for conversions and FPCR.FZ
// only zeroes float subnormal inputs, which encode to zero anyway, so flush
// modes should not matter either; unlike x86 DAZ/FTZ, that is not tested.
#ifndef ROPEKIT_DETAIL_FP8_NEON_HPP
#define ROPEKIT_DETAIL_FP8_NEON_HPP

#include <cstdint>
#include <cstring>

#include "../fp8.hpp"
#include "../version.hpp"

#include "macros_begin.inl"

#if ROPEKIT_COMPILE_NEON

#include <arm_neon.h>

ROPEKIT_BEGIN_KERNEL_NAMESPACE
namespace detail {
namespace ROPEKIT_TU_NAMESPACE {
namespace neon {

#include "byte_io-inl.hpp"

struct fp8_ops {
  static constexpr int kF = 4;
  using vf = float32x4_t;

  // Codes in the low 4 bytes -> 4 floats.
  template <class Format>
  ROPEKIT_INLINE static vf decode(uint8x8_t codes) {
    const uint16x4_t high_bytes = vget_low_u16(vshll_n_u8(codes, 8));
    if constexpr (Format::kHasInfinity) {
      return vcvt_f32_f16(vreinterpret_f16_u16(high_bytes));
    } else {
      const uint16x4_t half_bits = vand_u16(
          vreinterpret_u16_s16(vshr_n_s16(vreinterpret_s16_u16(high_bytes), 1)), vdup_n_u16(0xBFFF));
      const float32x4_t value =
          vmulq_n_f32(vcvt_f32_f16(vreinterpret_f16_u16(half_bits)), 256.0f);
      const uint32x4_t nan = vceqq_f32(vabsq_f32(value), vdupq_n_f32(480.0f));
      return vreinterpretq_f32_u32(
          vorrq_u32(vreinterpretq_u32_f32(value), vandq_u32(nan, vdupq_n_u32(0x7FF00000u))));
    }
  }

  // 4 floats -> codes in the low 4 bytes (round to nearest even, saturating).
  template <class Format>
  ROPEKIT_INLINE static uint8x8_t encode(vf v) {
    using C = fp8_constants<Format>;
    const uint32x4_t bits = vreinterpretq_u32_f32(v);
    const uint32x4_t magnitude = vandq_u32(bits, vdupq_n_u32(0x7FFFFFFFu));
    const uint32x4_t m = vminq_u32(magnitude, vdupq_n_u32(C::kMaxFiniteBits));
    const uint32x4_t lsb = vandq_u32(vshrq_n_u32(m, C::kShift), vdupq_n_u32(1));
    const uint32x4_t normal =
        vshrq_n_u32(vaddq_u32(vaddq_u32(m, vdupq_n_u32(C::kRoundAndRebias)), lsb), C::kShift);
    const uint32x4_t magic = vdupq_n_u32(C::kSubnormalMagicBits);
    const uint32x4_t subnormal = vsubq_u32(
        vreinterpretq_u32_f32(vaddq_f32(vreinterpretq_f32_u32(m), vreinterpretq_f32_u32(magic))),
        magic);
    uint32x4_t code = vbslq_u32(vcltq_u32(m, vdupq_n_u32(C::kMinNormalBits)), subnormal, normal);
    const uint32x4_t is_nan = vcgtq_u32(magnitude, vdupq_n_u32(0x7F800000u));
    code = vorrq_u32(code, vandq_u32(is_nan, vdupq_n_u32(C::kNanCode)));
    code = vorrq_u32(code, vandq_u32(vshrq_n_u32(bits, 24), vdupq_n_u32(0x80)));
    const uint16x4_t words = vmovn_u32(code);
    return vmovn_u16(vcombine_u16(words, words));
  }

  template <class Format>
  ROPEKIT_INLINE static vf load(const basic_float8<Format>* p) {
    std::uint32_t codes;
    std::memcpy(&codes, p, sizeof codes);
    return decode<Format>(vcreate_u8(codes));
  }
  template <class Format>
  ROPEKIT_INLINE static void store(basic_float8<Format>* p, vf v) {
    const std::uint32_t codes = vget_lane_u32(vreinterpret_u32_u8(encode<Format>(v)), 0);
    std::memcpy(p, &codes, sizeof codes);
  }
  // n in [0, kF): reads or writes exactly n bytes; lanes [n, kF) load as +0.
  template <class Format>
  ROPEKIT_INLINE static vf load_partial(const basic_float8<Format>* p, int n) {
    return decode<Format>(vcreate_u8(
        load_bytes(reinterpret_cast<const unsigned char*>(p), static_cast<std::size_t>(n))));
  }
  template <class Format>
  ROPEKIT_INLINE static void store_partial(basic_float8<Format>* p, vf v, int n) {
    store_bytes(reinterpret_cast<unsigned char*>(p),
                vget_lane_u64(vreinterpret_u64_u8(encode<Format>(v)), 0),
                static_cast<std::size_t>(n));
  }

  ROPEKIT_INLINE static vf load(const float* p) { return vld1q_f32(p); }
  ROPEKIT_INLINE static void store(float* p, vf v) { vst1q_f32(p, v); }
  ROPEKIT_INLINE static vf set1(float x) { return vdupq_n_f32(x); }
  ROPEKIT_INLINE static vf mul(vf a, vf b) { return vmulq_f32(a, b); }
  // The quantization divides (see fp8.hpp): correctly rounded, as x / scale.
  ROPEKIT_INLINE static vf div(vf a, vf b) { return vdivq_f32(a, b); }
};

#include "fp8_array-inl.hpp"

}  // namespace neon
}  // namespace ROPEKIT_TU_NAMESPACE
}  // namespace detail
ROPEKIT_END_KERNEL_NAMESPACE

#endif  // ROPEKIT_COMPILE_NEON

#include "macros_end.inl"
#endif  // ROPEKIT_DETAIL_FP8_NEON_HPP
