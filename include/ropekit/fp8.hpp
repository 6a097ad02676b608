// SPDX-License-Identifier: Apache-2.0
// 8-bit floating point storage for KV caches, as the OCP "OFP8 Formats for
// Deep Learning" v1.0 specification defines it:
//
//   float8_e4m3fn  1 sign, 4 exponent, 3 mantissa bits, bias 7. No
//                  infinities; S.1111.111 is NaN; max finite 448; smallest
//                  subnormal 2^-9.
//   float8_e5m2    1 sign, 5 exponent, 2 mantissa bits, bias 15. IEEE-like:
//                  S.11111.00 is infinity, S.11111.{01,10,11} NaN; max finite
//                  57344; smallest subnormal 2^-16. Its codes are the high
//                  byte of IEEE binary16.
//
// float -> fp8 rounds to nearest, ties to even, and SATURATES: finite values
// beyond the largest finite magnitude, and +-inf, become +-max finite (448 or
// 57344), so an E5M2 infinity is read but never written. NaN becomes the NaN
// code S.1111111 (0x7F / 0xFF) with the input's sign. Values below half the
// smallest subnormal become zero of the input's sign. This is, bit for bit,
// CUDA's __nv_cvt_float_to_fp8(x, __NV_SATFINITE, ...) (cuda_fp8.hpp), which
// vLLM's fp8 KV-cache writer (scaled_convert in quant_utils.cuh) and
// flashinfer's rope_quantize_fp8 (through CUDA's __nv_fp8_e4m3/e5m2 types,
// whose float constructors use __NV_SATFINITE) rely on, except that CUDA
// drops a NaN's sign (it returns 0x7F). PyTorch's
// tensor.to(torch.float8_e4m3fn / float8_e5m2) does NOT saturate (c10's
// Float8_e4m3fn.h / Float8_e5m2.h): E4M3 magnitudes above 464 and +-inf
// become NaN, E5M2 magnitudes from 61440 up become +-inf; it agrees with
// ropekit wherever the value does not overflow, and
// torch.clamp(x, -max, max).to(dtype) agrees everywhere.
//
// fp8 -> float is exact (every fp8 value is a float). NaN codes give a quiet
// NaN of the code's sign with the code's mantissa bits at the top of the
// payload (0x7FF00000 for E4M3; for E5M2 what IEEE binary16 widening gives).
//
// Scale (KV caches): the caller gives a per-tensor or per-head float `scale`
// (finite, > 0; vLLM's k_scale / v_scale, the dequantization scale):
//   stored = fp8(x / scale)        quantize_fp8<F>(x, scale)
//   read   = float(code) * scale   dequantize_fp8(code, scale)
// The quotient is one IEEE float division (correctly rounded), then one
// rounding to fp8 (nearest even, saturating) of that float quotient, as vLLM
// computes it. That is not always the fp8 value nearest to the exact
// quotient: when the exact quotient lies within half a float ulp of a
// midpoint between two fp8 values, the float quotient can round onto the
// midpoint and ties-to-even then decides. A division, not a multiplication
// by 1/scale: that would round twice before the fp8 rounding and disagree
// with vLLM's codes more often. When scale is 2^k with |k| <= 126,
// x * 2^-k is the same float as x / scale, so a kernel may multiply then
// (flashinfer's rope_quantize_fp8 multiplies by a quantization scale, the
// reciprocal of this one: for power-of-two scales the two agree bit for
// bit). The read rounds once (a code has at most 4 significant bits, so the
// product is exact when scale has at most 20).
//
// The conversions here (not the scale's division and multiplication) are
// integer arithmetic and a table lookup: they do not depend on the
// floating-point environment. The vector conversions
// (detail/fp8_*.hpp) give the same bits on every path, assuming only the
// default round-to-nearest mode (as the rotation kernels do); on x86,
// flush-to-zero and denormals-are-zero do not change them (tested).
#ifndef ROPEKIT_FP8_HPP
#define ROPEKIT_FP8_HPP

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// An OCP 8-bit format: 1 sign bit, then exponent and mantissa bits. The
// constants below it are float (binary32) bit patterns derived from it.
struct e4m3fn_format {
  static constexpr int kMantissaBits = 3;
  static constexpr int kBias = 7;
  static constexpr bool kHasInfinity = false;
  static constexpr std::uint8_t kMaxFiniteCode = 0x7E;  // S.1111.110 = 448
  static constexpr const char* kName = "float8_e4m3fn";
};

struct e5m2_format {
  static constexpr int kMantissaBits = 2;
  static constexpr int kBias = 15;
  static constexpr bool kHasInfinity = true;
  static constexpr std::uint8_t kMaxFiniteCode = 0x7B;  // S.11110.11 = 57344
  static constexpr const char* kName = "float8_e5m2";
};

template <class Format>
struct fp8_constants {
  static constexpr int kShift = 23 - Format::kMantissaBits;  // float mantissa bits dropped
  static constexpr std::uint32_t kMantissaMask = (1u << Format::kMantissaBits) - 1u;
  // Float exponent bias minus the format's, in float exponent-field units.
  static constexpr std::uint32_t kRebias = static_cast<std::uint32_t>(127 - Format::kBias) << 23;
  // Largest finite magnitude and smallest normal, as float bits.
  static constexpr std::uint32_t kMaxFiniteBits =
      kRebias + (static_cast<std::uint32_t>(Format::kMaxFiniteCode) << kShift);
  static constexpr std::uint32_t kMinNormalBits = kRebias + (1u << 23);
  // Adding this to float bits, plus the kept LSB, then shifting by kShift
  // rounds a normal magnitude to nearest even and rebiases it in one go
  // (unsigned wrap-around is intended).
  static constexpr std::uint32_t kRoundAndRebias = (1u << (kShift - 1)) - 1u - kRebias;
  // The float whose ulp is the smallest subnormal, 2^(1 - bias - mantissa
  // bits): adding a subnormal-range magnitude to it rounds the sum to a whole
  // number of subnormal steps, which its low bits then count.
  static constexpr std::uint32_t kSubnormalMagicBits =
      static_cast<std::uint32_t>(127 + 23 + 1 - Format::kBias - Format::kMantissaBits) << 23;
  static constexpr std::uint8_t kNanCode = 0x7F;
  static constexpr float kMaxFinite =
      static_cast<float>((Format::kMaxFiniteCode & kMantissaMask) + (1u << Format::kMantissaBits)) *
      static_cast<float>(1u << ((Format::kMaxFiniteCode >> Format::kMantissaBits) - Format::kBias -
                                Format::kMantissaBits));
};

template <class Format>
constexpr bool fp8_is_nan_code(std::uint8_t code) noexcept {
  const unsigned magnitude = code & 0x7Fu;
  return Format::kHasInfinity ? magnitude > 0x7Cu : magnitude == 0x7Fu;
}

// Float bits of each code: exact values, NaNs as documented above.
template <class Format>
struct fp8_decode_table {
  std::uint32_t bits[256];

  constexpr fp8_decode_table() : bits() {
    constexpr int m_bits = Format::kMantissaBits;
    constexpr std::uint32_t mask = (1u << m_bits) - 1u;
    for (unsigned code = 0; code < 256; ++code) {
      const std::uint32_t sign = (code & 0x80u) << 24;
      const std::uint32_t exponent = (code & 0x7Fu) >> m_bits;
      std::uint32_t mantissa = code & mask;
      std::uint32_t out = sign;
      if (fp8_is_nan_code<Format>(static_cast<std::uint8_t>(code))) {
        out |= 0x7FC00000u | (mantissa << (23 - m_bits));
      } else if (Format::kHasInfinity && exponent == (0x7Fu >> m_bits)) {
        out |= 0x7F800000u;
      } else if (exponent != 0) {
        out |= ((exponent + 127u - Format::kBias) << 23) | (mantissa << (23 - m_bits));
      } else if (mantissa != 0) {  // subnormal: normalise into a float
        int scale = 1 - Format::kBias;
        while (!(mantissa & (1u << m_bits))) {
          mantissa <<= 1;
          --scale;
        }
        out |= (static_cast<std::uint32_t>(scale + 127) << 23) | ((mantissa & mask) << (23 - m_bits));
      }
      bits[code] = out;
    }
  }
};

template <class Format>
inline constexpr fp8_decode_table<Format> kFp8DecodeTable{};

template <class Format>
inline float fp8_decode(std::uint8_t code) noexcept {
  float value;
  std::memcpy(&value, &kFp8DecodeTable<Format>.bits[code], sizeof value);
  return value;
}

// Round to nearest even, saturating, in integer arithmetic only (branch-free
// selects). The vector versions compute the same function.
template <class Format>
inline std::uint8_t fp8_encode(float value) noexcept {
  using C = fp8_constants<Format>;
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const std::uint32_t sign = (bits >> 24) & 0x80u;
  const std::uint32_t magnitude = bits & 0x7FFFFFFFu;
  // Saturation: every magnitude above max finite (inf included) becomes it.
  const std::uint32_t m = magnitude < C::kMaxFiniteBits ? magnitude : C::kMaxFiniteBits;

  const std::uint32_t normal = (m + C::kRoundAndRebias + ((m >> C::kShift) & 1u)) >> C::kShift;

  // Subnormal range: the magnitude is significand * 2^(exponent - 150); the
  // code counts steps of 2^(1 - bias - mantissa bits), so it is the
  // significand shifted right by `drop` bits, rounded to nearest even.
  const std::uint32_t exponent = m >> 23;
  const std::uint32_t significand = (m & 0x7FFFFFu) | (exponent != 0 ? 0x800000u : 0u);
  const std::uint32_t biased = exponent != 0 ? exponent : 1u;
  // At least 21 in the subnormal range; clamped so that every shift below is
  // defined for the magnitudes whose result the select discards.
  const int raw_drop = 151 - Format::kBias - Format::kMantissaBits - static_cast<int>(biased);
  const int drop = raw_drop < 1 ? 1 : (raw_drop > 31 ? 31 : raw_drop);
  const std::uint32_t kept = significand >> drop;
  const std::uint32_t rest = significand & ((1u << drop) - 1u);
  const std::uint32_t half = 1u << (drop - 1);
  const std::uint32_t round_up =
      static_cast<std::uint32_t>(rest > half) | (static_cast<std::uint32_t>(rest == half) & kept);
  const std::uint32_t subnormal = kept + (round_up & 1u);

  std::uint32_t code = m < C::kMinNormalBits ? subnormal : normal;
  code = magnitude > 0x7F800000u ? C::kNanCode : code;
  return static_cast<std::uint8_t>(code | sign);
}

}  // namespace detail

/// An OCP 8-bit float: one byte holding the code (like Eigen::half holds its
/// 16 bits). Construction from float rounds to nearest even and saturates
/// (see the top of this header); conversion to float is exact. A double
/// argument converts to float first.
template <class Format>
struct basic_float8 {
  using format = Format;

  basic_float8() = default;
  explicit basic_float8(float value) noexcept : x(detail::fp8_encode<Format>(value)) {}
  explicit operator float() const noexcept { return detail::fp8_decode<Format>(x); }

  static constexpr basic_float8 from_bits(std::uint8_t bits) noexcept {
    return basic_float8(bits, 0);
  }
  constexpr std::uint8_t bits() const noexcept { return x; }

  /// Largest finite value: 448 (E4M3) or 57344 (E5M2).
  static constexpr float max_finite() noexcept { return detail::fp8_constants<Format>::kMaxFinite; }

  /// The code. Public, as Eigen::half's `x` and CUDA's __nv_fp8_e4m3's `__x`
  /// are: GCC's -Wclass-memaccess warns when memcpy writes into a class with
  /// private data, and caches of these are copied as raw memory.
  std::uint8_t x;

 private:
  constexpr basic_float8(std::uint8_t bits, int) noexcept : x(bits) {}
};

using float8_e4m3fn = basic_float8<detail::e4m3fn_format>;
using float8_e5m2 = basic_float8<detail::e5m2_format>;

static_assert(sizeof(float8_e4m3fn) == 1 && alignof(float8_e4m3fn) == 1);
static_assert(std::is_trivially_copyable_v<float8_e4m3fn> && std::is_standard_layout_v<float8_e4m3fn>);
static_assert(std::is_trivially_copyable_v<float8_e5m2> && sizeof(float8_e5m2) == 1);

/// True for float8_e4m3fn and float8_e5m2.
template <class T>
struct is_fp8 : std::false_type {};
template <class Format>
struct is_fp8<basic_float8<Format>> : std::true_type {};
template <class T>
inline constexpr bool is_fp8_v = is_fp8<T>::value;

/// stored = F(x / scale): one float division, then one rounding to F
/// (nearest even, saturating). `scale` must be finite and positive; callers
/// validate it once (detail::require_positive_finite), not per element.
template <class F>
inline F quantize_fp8(float x, float scale) noexcept {
  static_assert(is_fp8_v<F>, "ropekit: quantize_fp8 needs float8_e4m3fn or float8_e5m2");
  return F(x / scale);
}

/// read = float(code) * scale, rounded once.
template <class Format>
inline float dequantize_fp8(basic_float8<Format> code, float scale) noexcept {
  return static_cast<float>(code) * scale;
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_FP8_HPP
