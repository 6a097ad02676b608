// SPDX-License-Identifier: Apache-2.0
// Static NTK-aware scaling (bloc97, 2023; YaRN paper, arXiv 2309.00071, §3.1):
// base' = base * factor^(d/(d-2)), so the highest frequency is untouched and
// the lowest is exactly position-interpolated (ω'_{h-1} = ω_{h-1} / factor).
#ifndef ROPEKIT_SCALING_NTK_AWARE_HPP
#define ROPEKIT_SCALING_NTK_AWARE_HPP

#include <cmath>
#include <cstdint>

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../version.hpp"
#include "default.hpp"

#include "../detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// d/(d-2) is undefined for d = 2: NTK scaling of a single pair has no meaning.
inline long double ntk_exponent(const RotaryDims& dims, const char* policy) {
  if (dims.rotary_dim() < 4)
    fail("rotary_dim", dims.rotary_dim(),
         std::string("must be at least 4 for ") + policy + " (its exponent is d/(d-2))");
  const auto d = static_cast<long double>(dims.rotary_dim());
  return d / (d - 2.0L);
}

}  // namespace detail

namespace scaling {

/// Fixed NTK-aware scaling. Not a transformers `rope_type`; it is what
/// llama.cpp users get with `--rope-freq-base base*factor^(d/(d-2))`.
/// (vLLM's `"ntk"` type is a different form, Su's ω_j·factor^(-2(j+1)/d),
/// which also shrinks pair 0; ropekit follows the bloc97/YaRN-paper form.)
class NtkAware {
 public:
  static constexpr const char* name = "ntk_aware";

  explicit NtkAware(double factor, double base = 10000.0) : factor_(factor), base_(base) {
    detail::require_positive_finite("factor", factor);
    detail::require_positive_finite("base", base);
  }

  double factor() const noexcept { return factor_; }
  double base() const noexcept { return base_; }

  /// base * factor^(d/(d-2)) for rotary width d.
  long double scaled_base(const RotaryDims& dims) const {
    return static_cast<long double>(base_) *
           std::pow(static_cast<long double>(factor_), detail::ntk_exponent(dims, name));
  }

  Frequencies frequencies(const RotaryDims& dims) const {
    Frequencies f = detail::default_frequencies(scaled_base(dims), dims);
    detail::require_scaled_inv_freq_in_range(f, base_, dims, "factor", factor_);
    return f;
  }

 private:
  double factor_;
  double base_;
};

}  // namespace scaling
ROPEKIT_END_NAMESPACE

#include "../detail/macros_end.inl"

#endif  // ROPEKIT_SCALING_NTK_AWARE_HPP
