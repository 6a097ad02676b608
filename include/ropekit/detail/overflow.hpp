// SPDX-License-Identifier: Apache-2.0
// Overflow-checked int64 arithmetic for validating sizes, strides and
// sections the user passes: signed overflow is undefined behaviour, so a
// check must not compute the overflowing value first.
#ifndef ROPEKIT_DETAIL_OVERFLOW_HPP
#define ROPEKIT_DETAIL_OVERFLOW_HPP

#include <cstdint>
#include <limits>

#include "../version.hpp"

#include "macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

/// True when a + b does not fit in int64; otherwise stores it in *sum.
inline bool add_overflows(std::int64_t a, std::int64_t b, std::int64_t* sum) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_add_overflow(a, b, sum);
#else
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  if ((b > 0 && a > kMax - b) || (b < 0 && a < kMin - b)) return true;
  *sum = a + b;
  return false;
#endif
}

/// True when a * b does not fit in int64; otherwise stores it in *product.
/// (The portable branch serves the non-negative sizes ropekit checks.)
inline bool mul_overflows(std::int64_t a, std::int64_t b, std::int64_t* product) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_mul_overflow(a, b, product);
#else
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  if (a < 0 || b < 0) return true;
  if (a != 0 && b > kMax / a) return true;
  *product = a * b;
  return false;
#endif
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_OVERFLOW_HPP
