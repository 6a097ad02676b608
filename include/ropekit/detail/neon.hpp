// SPDX-License-Identifier: Apache-2.0
// AArch64 Advanced SIMD kernel: 4 float lanes, 2 double lanes. Compiled only
// for AArch64, where NEON and the float16 conversions are mandatory.
#ifndef ROPEKIT_DETAIL_NEON_HPP
#define ROPEKIT_DETAIL_NEON_HPP

#include <cstdint>
#include <cstring>

#include "../frequencies.hpp"
#include "../layout.hpp"
#include "../positions.hpp"
#include "../storage.hpp"
#include "../version.hpp"
#include "../view.hpp"
#include "job.hpp"
#include "fp8_neon.hpp"

#include "macros_begin.inl"

#if ROPEKIT_COMPILE_NEON

#include <arm_neon.h>

ROPEKIT_BEGIN_KERNEL_NAMESPACE
namespace detail {
namespace ROPEKIT_TU_NAMESPACE {
namespace neon {

#include "short_io-inl.hpp"

struct ops : fp8_ops {
  using fp8_ops::load;
  using fp8_ops::load_partial;
  using fp8_ops::store;
  using fp8_ops::store_partial;
  static constexpr int kF = 4;
  static constexpr int kD = 2;
  using vf = float32x4_t;
  // Whether partial loads/stores are single masked instructions.
  static constexpr bool kNativeMasks = false;
  // Interleaved bfloat16 as 32-bit words (see x86_avx2.hpp): not used
  // where it could not be measured.
  static constexpr bool kBfloat16Words = false;
  using vd = float64x2_t;
  using vi = int32x4_t;

  ROPEKIT_INLINE static vf load(const float* p) { return vld1q_f32(p); }
  ROPEKIT_INLINE static void store(float* p, vf v) { vst1q_f32(p, v); }
  ROPEKIT_INLINE static vf load_partial(const float* p, int n) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(p);
    const std::size_t size = static_cast<std::size_t>(n) * sizeof(float), low = size < 8 ? size : 8;
    return vreinterpretq_f32_u64(
        vcombine_u64(vcreate_u64(load_short(bytes, low)), vcreate_u64(load_short(bytes + low, size - low))));
  }
  ROPEKIT_INLINE static void store_partial(float* p, vf v, int n) {
    auto* bytes = reinterpret_cast<unsigned char*>(p);
    const std::size_t size = static_cast<std::size_t>(n) * sizeof(float), low = size < 8 ? size : 8;
    const uint64x2_t bits = vreinterpretq_u64_f32(v);
    store_short(bytes, vgetq_lane_u64(bits, 0), low);
    store_short(bytes + low, vgetq_lane_u64(bits, 1), size - low);
  }

  template <class T>
  ROPEKIT_INLINE static uint16x4_t load_bits(const T* p) {
    return vld1_u16(reinterpret_cast<const std::uint16_t*>(p));
  }
  template <class T>
  ROPEKIT_INLINE static uint16x4_t load_bits_partial(const T* p, int n) {
    return vreinterpret_u16_u64(vcreate_u64(
        load_short(reinterpret_cast<const unsigned char*>(p), static_cast<std::size_t>(n) * 2)));
  }
  template <class T>
  ROPEKIT_INLINE static void store_bits(T* p, uint16x4_t bits) {
    vst1_u16(reinterpret_cast<std::uint16_t*>(p), bits);
  }
  template <class T>
  ROPEKIT_INLINE static void store_bits_partial(T* p, uint16x4_t bits, int n) {
    store_short(reinterpret_cast<unsigned char*>(p), vget_lane_u64(vreinterpret_u64_u16(bits), 0),
                static_cast<std::size_t>(n) * 2);
  }

  // FCVT rounds to nearest even under the default FPCR, like F16C.
  ROPEKIT_INLINE static vf from_half(uint16x4_t h) { return vcvt_f32_f16(vreinterpret_f16_u16(h)); }
  ROPEKIT_INLINE static uint16x4_t to_half(vf v) { return vreinterpret_u16_f16(vcvt_f16_f32(v)); }
  ROPEKIT_INLINE static vf from_bfloat16(uint16x4_t h) { return vreinterpretq_f32_u32(vshll_n_u16(h, 16)); }
  // Round to nearest even, NaN to a quiet NaN of the same sign (as Eigen).
  ROPEKIT_INLINE static uint16x4_t to_bfloat16(vf v) {
    const uint32x4_t bits = vreinterpretq_u32_f32(v);
    const uint32x4_t lsb = vandq_u32(vshrq_n_u32(bits, 16), vdupq_n_u32(1));
    const uint32x4_t rounded =
        vshrq_n_u32(vaddq_u32(vaddq_u32(bits, vdupq_n_u32(0x7FFF)), lsb), 16);
    const uint32x4_t quiet_nan =
        vorrq_u32(vshrq_n_u32(vandq_u32(bits, vdupq_n_u32(0x80000000u)), 16), vdupq_n_u32(0x7FC0));
    const uint32x4_t is_number = vceqq_f32(v, v);
    return vmovn_u32(vbslq_u32(is_number, rounded, quiet_nan));
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

  ROPEKIT_INLINE static vf set1(float x) { return vdupq_n_f32(x); }
  ROPEKIT_INLINE static vf mul(vf a, vf b) { return vmulq_f32(a, b); }
  ROPEKIT_INLINE static vf add(vf a, vf b) { return vaddq_f32(a, b); }
  ROPEKIT_INLINE static vf div(vf a, vf b) { return vdivq_f32(a, b); }
  ROPEKIT_INLINE static vf fmadd(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
  // a*b - c, fused: -c + a*b (negation is exact).
  ROPEKIT_INLINE static vf fmsub(vf a, vf b, vf c) { return vfmaq_f32(vnegq_f32(c), a, b); }
  ROPEKIT_INLINE static vf swap_pairs(vf v) { return vrev64q_f32(v); }
  // Stores [a0 b0 a1 b1 a2 b2 a3 b3] at p.
  ROPEKIT_INLINE static void zip(vf a, vf b, float* p) {
    vst1q_f32(p, vzip1q_f32(a, b));
    vst1q_f32(p + 4, vzip2q_f32(a, b));
  }

  ROPEKIT_INLINE static vd set1_d(double x) { return vdupq_n_f64(x); }
  ROPEKIT_INLINE static vd load_d(const double* p) { return vld1q_f64(p); }
  ROPEKIT_INLINE static void store_d(double* p, vd v) { vst1q_f64(p, v); }
  ROPEKIT_INLINE static void widen_d(vf v, vd& lo, vd& hi) {
    lo = vcvt_f64_f32(vget_low_f32(v));
    hi = vcvt_high_f64_f32(v);
  }
  ROPEKIT_INLINE static vd add_d(vd a, vd b) { return vaddq_f64(a, b); }
  ROPEKIT_INLINE static vd sub_d(vd a, vd b) { return vsubq_f64(a, b); }
  ROPEKIT_INLINE static vd mul_d(vd a, vd b) { return vmulq_f64(a, b); }
  ROPEKIT_INLINE static vd div_d(vd a, vd b) { return vdivq_f64(a, b); }
  ROPEKIT_INLINE static vd sqrt_d(vd a) { return vsqrtq_f64(a); }
  ROPEKIT_INLINE static vd fma_d(vd a, vd b, vd c) { return vfmaq_f64(c, a, b); }
  ROPEKIT_INLINE static vd fms_d(vd a, vd b, vd c) { return vfmaq_f64(vnegq_f64(c), a, b); }
  ROPEKIT_INLINE static vd round_d(vd a) { return vrndnq_f64(a); }
  ROPEKIT_INLINE static vf to_float(vd lo, vd hi) { return vcvt_high_f32_f64(vcvt_f32_f64(lo), hi); }
  // The narrowing keeps each lane's low word: mod 2^32, as the kernel needs.
  ROPEKIT_INLINE static vi to_int(vd lo, vd hi) {
    return vcombine_s32(vmovn_s64(vcvtnq_s64_f64(lo)), vmovn_s64(vcvtnq_s64_f64(hi)));
  }

  // See the AVX2 version.
  ROPEKIT_INLINE static void quadrant_fixup(vi q, vf& s, vf& c) {
    const uint32x4_t odd = vtstq_s32(q, vdupq_n_s32(1));
    const float32x4_t swapped_s = vbslq_f32(odd, c, s);
    const float32x4_t swapped_c = vbslq_f32(odd, s, c);
    const uint32x4_t sign = vdupq_n_u32(0x80000000u);
    const uint32x4_t s_sign = vandq_u32(vreinterpretq_u32_s32(vshlq_n_s32(q, 30)), sign);
    const uint32x4_t c_sign = veorq_u32(s_sign, vandq_u32(odd, sign));
    s = vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(swapped_s), s_sign));
    c = vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(swapped_c), c_sign));
  }
};

#include "angles-inl.hpp"
#include "kernel-inl.hpp"

}  // namespace neon
}  // namespace ROPEKIT_TU_NAMESPACE
}  // namespace detail
ROPEKIT_END_KERNEL_NAMESPACE

#endif  // ROPEKIT_COMPILE_NEON

#include "macros_end.inl"
#endif  // ROPEKIT_DETAIL_NEON_HPP
