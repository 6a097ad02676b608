// SPDX-License-Identifier: Apache-2.0
// YaRN (Peng et al. 2023, "YaRN: Efficient Context Window Extension of Large
// Language Models", arXiv 2309.00071, §3.2-3.4): per pair, blend position
// interpolation (ω/s) and extrapolation (ω) by how many rotations the pair
// completes in the trained context, and scale q and k by 0.1·ln(s) + 1.
// DeepSeek-V2/V3 replace that factor by a ratio of two such terms.
#ifndef ROPEKIT_SCALING_YARN_HPP
#define ROPEKIT_SCALING_YARN_HPP

#include <cmath>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../version.hpp"
#include "default.hpp"

#include "../detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// A double as error messages print it (round-trip digits, like fail()).
inline std::string yarn_number(long double value) {
  std::ostringstream out;
  out.precision(17);
  out << static_cast<double>(value);
  return out.str();
}

}  // namespace detail

namespace scaling {

/// YaRN's attention-temperature term g(s, m) = 0.1·m·ln(s) + 1, or 1 when
/// s <= 1 (transformers, vLLM and DeepSeek call it `yarn_get_mscale`).
/// DeepSeek-V2/V3 attention multiplies its softmax scale by
/// g(factor, mscale_all_dim)^2 (see `Yarn::softmax_scale_multiplier`).
inline double yarn_mscale(double scale, double mscale = 1.0) {
  if (scale <= 1.0) return 1.0;
  return static_cast<double>(
      0.1L * static_cast<long double>(mscale) * std::log(static_cast<long double>(scale)) + 1.0L);
}

/// transformers `rope_type: "yarn"` (and DeepSeek's yarn with `mscale`,
/// `mscale_all_dim`; gpt-oss's `truncate: false`).
///
/// With s = factor, L0 = original_max_position_embeddings, d = rotary width:
/// * correction dim for r rotations: c(r) = d·ln(L0/(2π·r)) / (2·ln base),
///   a pair index; low = c(beta_fast), high = c(beta_slow);
/// * if `truncate`: low = floor(low), high = ceil(high); then low = max(low, 0)
///   and high = min(high, d-1) (d-1, not d/2-1: transformers, ggml and vLLM
///   all clamp to d-1, so the ramp may not reach 1 inside the pairs);
/// * ramp r_j = clamp((j-low)/(high-low), 0, 1), high += 0.001 if equal;
///   e_j = 1 - r_j; ω'_j = (ω_j/s)·(1-e_j) + ω_j·e_j;
/// * attention factor: explicit `attention_factor`; else, if `mscale` and
///   `mscale_all_dim` are both non-zero, g(s, mscale)/g(s, mscale_all_dim)
///   (1.0 when they are equal, as for DeepSeek-V2 and V3); else g(s, 1).
///
/// ropekit follows transformers. Where the others differ:
/// * ggml/llama.cpp mixes angles, θ = θ/s·(1-rmix) + θ·rmix with
///   rmix = e_j·ext_factor: the same as mixing ω when ext_factor = 1. Its
///   ramp divides by max(0.001, high-low). It always floors/ceils (no
///   `truncate` flag, so gpt-oss's `truncate: false` is not reproduced), and
///   when ext_factor != 0 it multiplies the attention factor by
///   1 + 0.1·ln(s) itself; llama.cpp therefore stores
///   attn_factor = transformers' factor / (1 + 0.1·ln s) (PR #17945; PR
///   #18006 fixed the models without `rope_yarn_log_mul`).
/// * vLLM `yarn` honours `truncate` since PR #28244; before PRs
///   #46280/#48351/#48623 it ignored `attention_factor` and the mscale ratio
///   (realigned with transformers in #56446). vLLM `deepseek_yarn` computes
///   g(s, mscale)/g(s, mscale_all_dim)·attn_factor with defaults mscale = 1,
///   mscale_all_dim = 0: it equals transformers except when mscale is 0 and
///   mscale_all_dim is not (vLLM: 1/g(s, mscale_all_dim); transformers:
///   g(s, 1)). vLLM's `extrapolation_factor` and ggml's `ext_factor` (which
///   scale e_j) are fixed at 1 here, as in transformers.
/// * transformers up to mid-2025 replaced `factor` by
///   max_position_embeddings / L0 whenever L0 was given (#38224, fixed by
///   PR #40320); ropekit takes `factor` as given.
class Yarn {
 public:
  static constexpr const char* name = "yarn";

  /// Every YaRN option, defaults as in transformers. Fill it member by
  /// member (`p.truncate = false;`). C++20 designated initializers compile
  /// too, but GCC 12's -Wextra warns about every member they leave out.
  struct Params {
    /// s, required (transformers' `factor`).
    double factor = 0.0;
    /// L0, required (transformers falls back to max_position_embeddings).
    std::int64_t original_max_position_embeddings = 0;
    /// rope_theta.
    double base = 10000.0;
    /// Rotations at which pairs stop extrapolating / start interpolating.
    /// transformers maps 0 to these defaults (`or 32`); ropekit rejects 0.
    double beta_fast = 32.0;
    double beta_slow = 1.0;
    /// floor/ceil the correction range (gpt-oss: false).
    bool truncate = true;
    /// DeepSeek's pair; 0 means unset, as transformers treats 0 and None.
    /// Where used, g(factor, m) = 0.1·m·ln(factor) + 1 must not exceed
    /// `max_attention_factor` (real models: about 1.4).
    double mscale = 0.0;
    double mscale_all_dim = 0.0;
    /// Overrides the computed attention factor when set; must lie in
    /// [min_attention_factor, max_attention_factor].
    std::optional<double> attention_factor;
  };

  /// The pair index range the ramp runs over (after truncate and clamping,
  /// before the +0.001 that keeps an empty range from dividing by zero).
  struct CorrectionRange {
    long double low;
    long double high;
  };

  Yarn(double factor, std::int64_t original_max_position_embeddings, double base = 10000.0)
      : Yarn(make_params(factor, original_max_position_embeddings, base)) {}

  explicit Yarn(const Params& params) : params_(params) {
    const Params& p = params_;
    detail::require_positive_finite("factor", p.factor);
    detail::require(p.original_max_position_embeddings > 0, "original_max_position_embeddings",
                    p.original_max_position_embeddings, "must be positive");
    // c(r) divides by ln(base); base < 1 would reverse the pair order.
    detail::require(std::isfinite(p.base) && p.base > 1.0, "base", p.base,
                    "must be finite and greater than 1 (YaRN divides by ln base)");
    detail::require(std::isfinite(p.beta_fast) && p.beta_fast > 0.0, "beta_fast", p.beta_fast,
                    "must be finite and positive (transformers reads 0 as the default 32)");
    detail::require(std::isfinite(p.beta_slow) && p.beta_slow > 0.0, "beta_slow", p.beta_slow,
                    "must be finite and positive (transformers reads 0 as the default 1)");
    // beta_fast < beta_slow turns the ramp around: the high-frequency pairs
    // would be interpolated and the low ones extrapolated.
    if (p.beta_fast < p.beta_slow)
      detail::fail("beta_fast", p.beta_fast,
                   "must not be less than beta_slow = " + detail::yarn_number(p.beta_slow));
    detail::require(std::isfinite(p.mscale) && p.mscale >= 0.0, "mscale", p.mscale,
                    "must be finite and not negative (0 means unset)");
    detail::require(std::isfinite(p.mscale_all_dim) && p.mscale_all_dim >= 0.0, "mscale_all_dim",
                    p.mscale_all_dim, "must be finite and not negative (0 means unset)");
    check_attention_factor();
  }

  const Params& params() const noexcept { return params_; }
  double factor() const noexcept { return params_.factor; }
  double base() const noexcept { return params_.base; }
  std::int64_t original_max_position_embeddings() const noexcept {
    return params_.original_max_position_embeddings;
  }

  /// Multiplies cos and sin (see the precedence in the class comment).
  double attention_factor() const noexcept {
    const Params& p = params_;
    if (p.attention_factor) return *p.attention_factor;
    if (p.mscale != 0.0 && p.mscale_all_dim != 0.0)
      return yarn_mscale(p.factor, p.mscale) / yarn_mscale(p.factor, p.mscale_all_dim);
    return yarn_mscale(p.factor, 1.0);
  }

  /// DeepSeek-V2/V3 attention multiplies its softmax scale 1/sqrt(head_dim)
  /// by g(factor, mscale_all_dim)^2 when mscale_all_dim is set (transformers,
  /// vLLM and llama.cpp all do); 1 otherwise. Not applied by ropekit.
  double softmax_scale_multiplier() const noexcept {
    if (params_.mscale_all_dim == 0.0) return 1.0;
    const double g = yarn_mscale(params_.factor, params_.mscale_all_dim);
    return g * g;
  }

  /// c(r) = d·ln(L0/(2π·r)) / (2·ln base): the pair index that completes
  /// `rotations` turns over the trained context, before truncation.
  long double correction_dim(long double rotations, const RotaryDims& dims) const {
    const auto d = static_cast<long double>(dims.rotary_dim());
    const auto trained = static_cast<long double>(params_.original_max_position_embeddings);
    return d * std::log(trained / (detail::kTwoPiL * rotations)) /
           (2.0L * std::log(static_cast<long double>(params_.base)));
  }

  CorrectionRange correction_range(const RotaryDims& dims) const {
    long double low = correction_dim(params_.beta_fast, dims);
    long double high = correction_dim(params_.beta_slow, dims);
    if (params_.truncate) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    const auto last = static_cast<long double>(dims.rotary_dim() - 1);
    return {low > 0.0L ? low : 0.0L, high < last ? high : last};
  }

  Frequencies frequencies(const RotaryDims& dims) const {
    const CorrectionRange range = correction_range(dims);
    // Only a degenerate geometry gets here (L0 < 2π·beta_slow, or a pair
    // index for beta_fast past d-1): transformers would then extrapolate
    // every pair where it should interpolate, or the reverse.
    if (range.low > range.high)
      detail::fail("original_max_position_embeddings", params_.original_max_position_embeddings,
                   "gives an empty YaRN correction range [" + detail::yarn_number(range.low) +
                       ", " + detail::yarn_number(range.high) +
                       "] inside [0, rotary_dim - 1 = " + std::to_string(dims.rotary_dim() - 1) +
                       "] with base " + detail::yarn_number(params_.base));
    const long double low = range.low;
    const long double high = range.low == range.high ? range.high + 0.001L : range.high;
    const auto s = static_cast<long double>(params_.factor);
    Frequencies f = detail::default_frequencies(params_.base, dims);
    for (std::size_t j = 0; j < f.inv_freq.size(); ++j) {
      long double ramp = (static_cast<long double>(j) - low) / (high - low);
      ramp = ramp < 0.0L ? 0.0L : (ramp > 1.0L ? 1.0L : ramp);
      const long double extrapolation = 1.0L - ramp;
      const long double w = f.inv_freq[j];
      f.inv_freq[j] = (w / s) * (1.0L - extrapolation) + w * extrapolation;
    }
    detail::require_scaled_inv_freq_in_range(f, params_.base, dims, "factor", params_.factor);
    f.attention_factor = attention_factor();
    return f;
  }

 private:
  // The attention factor, and DeepSeek's softmax multiplier, stay in
  // [min_attention_factor, max_attention_factor] (the multiplier, a square,
  // below max^2). g(s, m) >= 1 for m >= 0, so bounding each g that is used
  // by the maximum bounds their ratio on both sides; g(s, 1) <= 72 for any
  // double s, so a factor alone can never leave the range.
  void check_attention_factor() const {
    const Params& p = params_;
    if (p.attention_factor) {
      if (!detail::attention_factor_in_range(*p.attention_factor))
        detail::fail("attention_factor", *p.attention_factor,
                     detail::attention_factor_range_text());
    } else if (p.mscale != 0.0 && p.mscale_all_dim != 0.0) {
      check_mscale("mscale", p.mscale);
    }
    if (p.mscale_all_dim != 0.0) check_mscale("mscale_all_dim", p.mscale_all_dim);
  }

  void check_mscale(const char* parameter, double mscale) const {
    const double g = yarn_mscale(params_.factor, mscale);
    if (!(g <= max_attention_factor))
      detail::fail(parameter, mscale,
                   "gives 0.1 * " + std::string(parameter) + " * ln(factor = " +
                       detail::yarn_number(params_.factor) + ") + 1 = " + detail::yarn_number(g) +
                       ", above 1000; " + detail::attention_factor_range_text());
  }

  static Params make_params(double factor, std::int64_t original_max_position_embeddings,
                            double base) {
    Params p;
    p.factor = factor;
    p.original_max_position_embeddings = original_max_position_embeddings;
    p.base = base;
    return p;
  }

  Params params_;
};

}  // namespace scaling
ROPEKIT_END_NAMESPACE

#include "../detail/macros_end.inl"

#endif  // ROPEKIT_SCALING_YARN_HPP
