// SPDX-License-Identifier: Apache-2.0
// Unscaled RoPE (Su et al. 2021, "RoFormer"): ω_j = base^(-2j/d).
#ifndef ROPEKIT_SCALING_DEFAULT_HPP
#define ROPEKIT_SCALING_DEFAULT_HPP

#include <cmath>
#include <cstdint>

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../version.hpp"

#include "../detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// base^(-2j/d) in extended precision; the exponent uses the rotary width d.
inline long double default_inv_freq(long double base, std::int64_t j, std::int64_t d) {
  return std::pow(base, -static_cast<long double>(2 * j) / static_cast<long double>(d));
}

inline Frequencies default_frequencies(long double base, const RotaryDims& dims) {
  Frequencies f;
  f.inv_freq.resize(static_cast<std::size_t>(dims.pairs()));
  for (std::int64_t j = 0; j < dims.pairs(); ++j)
    f.inv_freq[static_cast<std::size_t>(j)] = default_inv_freq(base, j, dims.rotary_dim());
  return f;
}

// For policies that scale the default frequencies of `base` by one of their
// parameters: a frequency out of range is reported as `base` when the
// unscaled frequencies already are out of range, else as the parameter.
// The unscaled ones are recomputed only on that failure path.
template <class Value>
void require_scaled_inv_freq_in_range(const Frequencies& scaled, long double base,
                                      const RotaryDims& dims, const char* parameter,
                                      const Value& value) {
  if (first_inv_freq_out_of_range(scaled.inv_freq) < 0) return;
  require_inv_freq_in_range(default_frequencies(base, dims), "base", static_cast<double>(base));
  require_inv_freq_in_range(scaled, parameter, value);
}

}  // namespace detail

namespace scaling {

/// Plain RoPE with the model's `rope_theta` (10000 for Llama 2 and GPT-NeoX,
/// 500000 for Llama 3, 1e6 for Qwen2 and CodeLlama). A base below 1 makes
/// ω grow with j, up to base^(-(d-2)/d) < 1/base; building the frequencies
/// rejects a base whose largest ω passes `max_inv_freq` (π), so every base
/// of at least 1/π is accepted at any width.
class Default {
 public:
  static constexpr const char* name = "default";

  explicit Default(double base = 10000.0) : base_(base) {
    detail::require_positive_finite("base", base);
  }

  double base() const noexcept { return base_; }

  Frequencies frequencies(const RotaryDims& dims) const {
    Frequencies f = detail::default_frequencies(base_, dims);
    detail::require_inv_freq_in_range(f, "base", base_);
    return f;
  }

 private:
  double base_;
};

}  // namespace scaling
ROPEKIT_END_NAMESPACE

#include "../detail/macros_end.inl"

#endif  // ROPEKIT_SCALING_DEFAULT_HPP
