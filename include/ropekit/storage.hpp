// SPDX-License-Identifier: Apache-2.0
// Element types ropekit reads and writes. Reduced-precision storage is widened
// to float on load and rounded once (to nearest even) on store, so a half or
// bfloat16 result is exactly the float result rounded once.
#ifndef ROPEKIT_STORAGE_HPP
#define ROPEKIT_STORAGE_HPP

#include <type_traits>

#include <Eigen/Core>

#include "fp8.hpp"
#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// True for the element types ropekit rotates: float, double, Eigen::half,
/// Eigen::bfloat16, and the FP8 KV-cache types float8_e4m3fn and
/// float8_e5m2 (whose views carry a dequantisation scale).
template <class T>
struct is_storage_type
    : std::bool_constant<std::is_same_v<T, float> || std::is_same_v<T, double> ||
                         std::is_same_v<T, Eigen::half> || std::is_same_v<T, Eigen::bfloat16> ||
                         is_fp8_v<T>> {};
template <class T>
inline constexpr bool is_storage_type_v = is_storage_type<T>::value;

/// The type a stored element becomes when it is read: double stays double,
/// everything else becomes float (the result is then rounded to T once).
template <class T>
using widened_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

/// Short name used in diagnostics and benchmark names: f32, f64, f16, bf16,
/// fp8e4m3, fp8e5m2.
template <class T>
constexpr const char* storage_name() noexcept {
  static_assert(is_storage_type_v<T>, "ropekit: unsupported storage type");
  if constexpr (std::is_same_v<T, float>) return "f32";
  else if constexpr (std::is_same_v<T, double>) return "f64";
  else if constexpr (std::is_same_v<T, Eigen::half>) return "f16";
  else if constexpr (std::is_same_v<T, Eigen::bfloat16>) return "bf16";
  else if constexpr (std::is_same_v<T, float8_e4m3fn>) return "fp8e4m3";
  else return "fp8e5m2";
}

namespace detail {

template <class T>
inline widened_t<T> widen(T value) noexcept {
  return static_cast<widened_t<T>>(value);
}

// Double -> T in one rounding for float/double. Half and bfloat16 go through
// float on purpose: their result must equal the float result rounded once.
template <class T>
inline T narrow(double value) noexcept {
  if constexpr (std::is_same_v<T, double>) {
    return value;
  } else if constexpr (std::is_same_v<T, float>) {
    return static_cast<float>(value);
  } else {
    return T(static_cast<float>(value));
  }
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_STORAGE_HPP
