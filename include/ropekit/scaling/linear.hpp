// SPDX-License-Identifier: Apache-2.0
// Position interpolation (Chen et al. 2023, "Extending Context Window of Large
// Language Models via Positional Interpolation", arXiv 2306.15595):
// positions are squeezed by `factor`, i.e. ω'_j = ω_j / factor.
#ifndef ROPEKIT_SCALING_LINEAR_HPP
#define ROPEKIT_SCALING_LINEAR_HPP

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../version.hpp"
#include "default.hpp"

#include "../detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace scaling {

/// transformers `rope_type: "linear"`. transformers divides ω, vLLM divides
/// positions and ggml multiplies the angle by 1/factor: equal in exact math,
/// and ropekit computes in extended precision, so all three agree with it.
class Linear {
 public:
  static constexpr const char* name = "linear";

  explicit Linear(double factor, double base = 10000.0) : factor_(factor), base_(base) {
    detail::require_positive_finite("factor", factor);
    detail::require_positive_finite("base", base);
  }

  double factor() const noexcept { return factor_; }
  double base() const noexcept { return base_; }

  Frequencies frequencies(const RotaryDims& dims) const {
    Frequencies f = detail::default_frequencies(base_, dims);
    for (long double& w : f.inv_freq) w /= static_cast<long double>(factor_);
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

#endif  // ROPEKIT_SCALING_LINEAR_HPP
