// SPDX-License-Identifier: Apache-2.0
// How far a SIMD path may be from the scalar kernel, and a guard that forces
// one kernel path for a scope. Shared by simd_test.cpp and the differential
// kernel fuzzer, so both hold the kernels to the same bound; no GoogleTest
// here, because the fuzzers do not link it.
//
// Bound for float storage, per pair (a, b) rotated with cos and sin scaled by
// m (the attention factor forward, its inverse backward):
// |simd - reference| <= 4 * 2^-24 * m * (|a| + |b|). Both paths use cos/sin
// rounded to float (they agree to the last bit or differ by one float ulp,
// <= 2^-24); the SIMD product and fused add round twice
// (<= 2 * 2^-24 * m * max(|a|, |b|)); the reference rounds once. A bound in
// ulps of the result would fail where a*c and b*s cancel, so the bound is
// scaled to the pair's magnitude instead. Half and bfloat16 add one rounding
// of T, and must also equal the same path's float result rounded once, bit
// for bit. Double storage takes the scalar kernel on every path: equal bits.
//
// Plus an absolute term, 2 * s_T, where s_T is the spacing of T's
// subnormals. A result below T's smallest normal is rounded to a multiple of
// s_T, so its error is up to s_T / 2 whatever its size, and the relative
// terms above vanish with the magnitude. The reference computes in double
// and rounds to float, then (half, bfloat16) to T; the SIMD path computes in
// float and rounds to T. At most three of these roundings land in T's
// subnormal range (float storage: the reference's one, the SIMD product b*s
// and its fused result; half and bfloat16: each path's final rounding to T,
// the float ones being at least 2^13 times finer), so the paths differ by
// at most 1.5 s_T beyond the relative terms: 2 * s_T covers it.
#ifndef ROPEKIT_TESTS_SIMD_BOUNDS_HPP
#define ROPEKIT_TESTS_SIMD_BOUNDS_HPP

#include <limits>
#include <type_traits>

#include <ropekit/isa.hpp>
#include <ropekit/storage.hpp>

namespace ropekit_test {

/// Unit roundoff of the storage type (half an ulp at 1).
template <class T>
constexpr double unit_roundoff() {
  if constexpr (std::is_same_v<T, double>) return 0x1p-53;
  else if constexpr (std::is_same_v<T, float>) return 0x1p-24;
  else if constexpr (std::is_same_v<T, Eigen::half>) return 0x1p-11;
  else return 0x1p-8;
}

/// Spacing of T's subnormals, its smallest positive value (half 2^-24,
/// bfloat16 2^-133, float 2^-149). Below T's smallest normal, rounding to T
/// has this fixed absolute granularity instead of a relative one.
template <class T>
double subnormal_spacing() {
  return static_cast<double>(
      static_cast<ropekit::widened_t<T>>(std::numeric_limits<T>::denorm_min()));
}

/// Largest |simd - scalar| allowed for either element of a pair whose
/// elements have |a| + |b| = `magnitude`, rotated with cos/sin scaled by
/// `scale` (see the file comment). 0 for double: its bits must be equal.
template <class T>
double simd_pair_bound(double scale, double magnitude) {
  const double float_part = 4 * 0x1p-24 * scale * magnitude + 2 * subnormal_spacing<T>();
  if constexpr (std::is_same_v<T, double>) return 0.0;
  else if constexpr (std::is_same_v<T, float>) return float_part;
  else return float_part + 2 * unit_roundoff<T>() * scale * magnitude;
}

/// Forces `isa` for the scope, then restores whatever was forced before.
class ScopedIsa {
 public:
  explicit ScopedIsa(ropekit::Isa isa) : had_(ropekit::forced_isa(&previous_)) {
    ropekit::force_isa(isa);
  }
  ~ScopedIsa() {
    if (had_) ropekit::force_isa(previous_);
    else ropekit::clear_forced_isa();
  }
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;

 private:
  ropekit::Isa previous_ = ropekit::Isa::scalar;
  bool had_;
};

}  // namespace ropekit_test

#endif  // ROPEKIT_TESTS_SIMD_BOUNDS_HPP
