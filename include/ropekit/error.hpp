// SPDX-License-Identifier: Apache-2.0
// How ropekit reports bad input: std::invalid_argument whose message names the
// parameter and the value, raised before any output is written.
#ifndef ROPEKIT_ERROR_HPP
#define ROPEKIT_ERROR_HPP

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// Formats "ropekit: <parameter> = <value>: <requirement>". Values print with
// enough digits to round-trip, so the message shows exactly what was passed.
// Out of line and cold: it runs only on bad input, and inlining its string
// formatting into every check would bloat every caller.
template <class Value>
[[noreturn]] ROPEKIT_COLD void fail(const char* parameter, const Value& value,
                                    const std::string& requirement) {
  std::ostringstream message;
  message.precision(17);
  message << "ropekit: " << parameter << " = " << value << ": " << requirement;
  throw std::invalid_argument(message.str());
}

template <class Value>
inline void require(bool condition, const char* parameter, const Value& value,
                    const char* requirement) {
  if (!condition) fail(parameter, value, requirement);
}

// Bases and factors: NaN, infinity, zero and negatives are all rejected here.
inline void require_positive_finite(const char* parameter, double value) {
  if (!(std::isfinite(value) && value > 0.0)) fail(parameter, value, "must be finite and positive");
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_ERROR_HPP
