// SPDX-License-Identifier: Apache-2.0
// Llama 3.1 frequency scaling (Meta, "The Llama 3 Herd of Models", 2024,
// arXiv 2407.21783, and the reference `apply_scaling` in meta-llama/llama-models):
// by wavelength λ_j = 2π/ω_j, short-wavelength pairs keep ω, long ones are
// position-interpolated (ω/factor), and a band in between is blended. It is
// YaRN's ramp keyed on wavelength instead of rotation count, without the
// attention factor.
#ifndef ROPEKIT_SCALING_LLAMA3_HPP
#define ROPEKIT_SCALING_LLAMA3_HPP

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../version.hpp"
#include "default.hpp"

#include "../detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace scaling {

/// transformers `rope_type: "llama3"`. With L0 = original_max_position_embeddings,
/// lf = low_freq_factor, hf = high_freq_factor, s = factor:
/// * λ_j < L0/hf (high-frequency band): ω unchanged;
/// * λ_j > L0/lf (low-frequency band): ω/s;
/// * otherwise (medium band, boundaries included, as transformers'
///   `~(λ < L0/hf) * ~(λ > L0/lf)`): sm = (L0/λ_j - lf)/(hf - lf),
///   ω' = (1-sm)·ω/s + sm·ω. sm is 1 at λ = L0/hf and 0 at λ = L0/lf, so ω'
///   is continuous.
/// No attention factor (1).
///
/// Equal lf and hf (Llama 4 Scout ships lf = hf = 1) leave no medium band:
/// a hard step at λ = L0/lf. transformers computes sm = 0/0 there (unused
/// unless a wavelength equals the boundary exactly, when it gives NaN);
/// ropekit does what vLLM does, sm = 0, so a pair exactly on the boundary
/// gets ω/s. lf > hf is rejected (the band would be empty
/// and sm would run backwards).
///
/// Elsewhere: llama.cpp has no llama3 type; its converter writes the per-pair
/// divisors ω/ω' as a `rope_freqs` tensor (float32) and reads L0 from the
/// top-level config with default 8192. vLLM `Llama3RotaryEmbedding` uses the
/// same formula as transformers. transformers classifies pairs with float32
/// wavelengths, ropekit with long double: they agree unless a wavelength is
/// within float rounding of a band edge.
class Llama3 {
 public:
  static constexpr const char* name = "llama3";

  Llama3(double factor, double low_freq_factor, double high_freq_factor,
         std::int64_t original_max_position_embeddings, double base)
      : factor_(factor),
        low_freq_factor_(low_freq_factor),
        high_freq_factor_(high_freq_factor),
        original_max_position_embeddings_(original_max_position_embeddings),
        base_(base) {
    detail::require_positive_finite("factor", factor);
    detail::require_positive_finite("low_freq_factor", low_freq_factor);
    detail::require_positive_finite("high_freq_factor", high_freq_factor);
    if (high_freq_factor < low_freq_factor) {
      std::ostringstream requirement;
      requirement.precision(17);
      requirement << "must not be less than low_freq_factor = " << low_freq_factor
                  << " (the blended band runs from wavelength L0/high_freq_factor up to "
                     "L0/low_freq_factor)";
      detail::fail("high_freq_factor", high_freq_factor, requirement.str());
    }
    detail::require(original_max_position_embeddings > 0, "original_max_position_embeddings",
                    original_max_position_embeddings, "must be positive");
    detail::require_positive_finite("base", base);
  }

  /// Llama 3.1 (8B/70B/405B): factor 8, low 1, high 4, L0 8192, base 500000.
  /// Llama 3.2 1B/3B use factor 32 with the same rest.
  static Llama3 llama3_1() { return Llama3(8.0, 1.0, 4.0, 8192, 500000.0); }

  double factor() const noexcept { return factor_; }
  double low_freq_factor() const noexcept { return low_freq_factor_; }
  double high_freq_factor() const noexcept { return high_freq_factor_; }
  std::int64_t original_max_position_embeddings() const noexcept {
    return original_max_position_embeddings_;
  }
  double base() const noexcept { return base_; }
  /// Pairs with a longer wavelength than this are divided by factor.
  long double low_freq_wavelen() const noexcept {
    return static_cast<long double>(original_max_position_embeddings_) / low_freq_factor_;
  }
  /// Pairs with a shorter wavelength than this are unchanged.
  long double high_freq_wavelen() const noexcept {
    return static_cast<long double>(original_max_position_embeddings_) / high_freq_factor_;
  }

  Frequencies frequencies(const RotaryDims& dims) const {
    Frequencies f = detail::default_frequencies(base_, dims);
    const auto s = static_cast<long double>(factor_);
    const auto lf = static_cast<long double>(low_freq_factor_);
    const auto hf = static_cast<long double>(high_freq_factor_);
    const auto trained = static_cast<long double>(original_max_position_embeddings_);
    const long double low_wavelen = low_freq_wavelen();
    const long double high_wavelen = high_freq_wavelen();
    for (long double& w : f.inv_freq) {
      const long double wavelen = detail::kTwoPiL / w;
      if (wavelen < high_wavelen) continue;
      if (wavelen > low_wavelen) {
        w /= s;
        continue;
      }
      const long double smooth = hf == lf ? 0.0L : (trained / wavelen - lf) / (hf - lf);
      w = (1.0L - smooth) * w / s + smooth * w;
    }
    detail::require_scaled_inv_freq_in_range(f, base_, dims, "factor", factor_);
    return f;
  }

 private:
  double factor_;
  double low_freq_factor_;
  double high_freq_factor_;
  std::int64_t original_max_position_embeddings_;
  double base_;
};

}  // namespace scaling
ROPEKIT_END_NAMESPACE

#include "../detail/macros_end.inl"

#endif  // ROPEKIT_SCALING_LLAMA3_HPP
