// SPDX-License-Identifier: Apache-2.0
// Proportional RoPE (transformers `rope_type: "proportional"`, Gemma 4's
// full-attention layers; `_compute_proportional_rope_parameters` in
// transformers' modeling_rope_utils.py): only the first
// int(partial_rotary_factor * d // 2) pairs get a frequency, with the
// exponent over the whole rotary width d; the other pairs have frequency 0.
#ifndef ROPEKIT_SCALING_PROPORTIONAL_HPP
#define ROPEKIT_SCALING_PROPORTIONAL_HPP

#include <cmath>
#include <cstdint>

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../version.hpp"
#include "default.hpp"

#include "../detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace scaling {

/// ω_j = base^(-2j/d) / factor for j < rotated_pairs(d) =
/// int(partial_rotary_factor * d // 2), and ω_j = 0 for the remaining pairs
/// up to d/2; attention factor 1 (transformers sets none). `inv_freq()`
/// reports all d/2 values, zeros included, as transformers does.
///
/// Not partial rotary: the rotation is half-split over the whole width, pair
/// j being channels (j, j + d/2), where partial rotary pairs (j, j +
/// rotary_dim/2) inside a narrower slice. Build it with RotaryDims(head_dim)
/// (Gemma 4: global_head_dim 512, partial_rotary_factor 0.25, base 1e6:
/// pairs 0..63 rotate, each with its partner 256 channels on). The
/// zero-frequency pairs are the identity, so calls skip them
/// (FrequencyTable::rotated_pairs) and cost what the rotated channels cost.
///
/// Interleaved layout: pair j is channels (2j, 2j + 1) with the same ω_j,
/// which is this rotation on Q/K rows permuted the way GGUF conversions
/// permute them (half-split channel j to 2j, j + d/2 to 2j + 1). No
/// checkpoint is known to ship it; Gemma 4's own layout is half-split.
class Proportional {
 public:
  static constexpr const char* name = "proportional";

  explicit Proportional(double partial_rotary_factor = 1.0, double base = 10000.0,
                        double factor = 1.0)
      : partial_rotary_factor_(partial_rotary_factor), base_(base), factor_(factor) {
    if (!(partial_rotary_factor > 0.0 && partial_rotary_factor <= 1.0))
      detail::fail("partial_rotary_factor", partial_rotary_factor,
                   "must lie in (0, 1] (the share of the head's pairs that rotate)");
    detail::require_positive_finite("base", base);
    detail::require_positive_finite("factor", factor);
  }

  double partial_rotary_factor() const noexcept { return partial_rotary_factor_; }
  double base() const noexcept { return base_; }
  double factor() const noexcept { return factor_; }

  /// Pairs with a frequency for rotary width d: transformers'
  /// `rope_angles = int(partial_rotary_factor * head_dim // 2)`, the product
  /// rounded to double as Python rounds it, then floored.
  std::int64_t rotated_pairs(const RotaryDims& dims) const noexcept {
    const double angles =
        std::floor(partial_rotary_factor_ * static_cast<double>(dims.rotary_dim()) / 2.0);
    return static_cast<std::int64_t>(angles);
  }

  Frequencies frequencies(const RotaryDims& dims) const {
    const std::int64_t rotated = rotated_pairs(dims);
    Frequencies unscaled;
    unscaled.inv_freq.assign(static_cast<std::size_t>(dims.pairs()), 0.0L);
    for (std::int64_t j = 0; j < rotated; ++j)
      unscaled.inv_freq[static_cast<std::size_t>(j)] =
          detail::default_inv_freq(base_, j, dims.rotary_dim());
    detail::require_inv_freq_in_range(unscaled, "base", base_);
    Frequencies f = unscaled;
    for (long double& w : f.inv_freq) w /= static_cast<long double>(factor_);
    detail::require_inv_freq_in_range(f, "factor", factor_);
    return f;
  }

 private:
  double partial_rotary_factor_;
  double base_;
  double factor_;
};

}  // namespace scaling
ROPEKIT_END_NAMESPACE

#include "../detail/macros_end.inl"

#endif  // ROPEKIT_SCALING_PROPORTIONAL_HPP
