// SPDX-License-Identifier: Apache-2.0
// Running a model with a base other than its pre-training base (Liu et al.
// 2023, "Scaling Laws of RoPE-based Extrapolation", arXiv 2310.05209:
// LLaMA2 fine-tuned with base 500 or 1e6 extrapolates far past 4K;
// CodeLlama ships base 1e6 on Llama 2's 1e4).
#ifndef ROPEKIT_SCALING_FIXED_BASE_HPP
#define ROPEKIT_SCALING_FIXED_BASE_HPP

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../version.hpp"
#include "default.hpp"

#include "../detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace scaling {

/// ω_j = base^(-2j/d) with the fine-tuned `base`. The rotation is the same
/// as `Default(base)`; the pre-training base is kept so that tools can
/// reason about extrapolation (see <ropekit/scaling_law.hpp>).
class FixedBase {
 public:
  static constexpr const char* name = "fixed_base";

  explicit FixedBase(double base, double pretrained_base = 10000.0)
      : base_(base), pretrained_base_(pretrained_base) {
    detail::require_positive_finite("base", base);
    detail::require_positive_finite("pretrained_base", pretrained_base);
  }

  double base() const noexcept { return base_; }
  double pretrained_base() const noexcept { return pretrained_base_; }

  Frequencies frequencies(const RotaryDims& dims) const {
    Frequencies f = detail::default_frequencies(base_, dims);
    detail::require_inv_freq_in_range(f, "base", base_);
    return f;
  }

 private:
  double base_;
  double pretrained_base_;
};

}  // namespace scaling
ROPEKIT_END_NAMESPACE

#include "../detail/macros_end.inl"

#endif  // ROPEKIT_SCALING_FIXED_BASE_HPP
