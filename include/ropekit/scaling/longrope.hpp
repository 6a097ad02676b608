// SPDX-License-Identifier: Apache-2.0
// LongRoPE (Ding et al. 2024, "LongRoPE: Extending LLM Context Window Beyond
// 2 Million Tokens", arXiv 2402.13753), as shipped by Phi-3/Phi-3.5/Phi-4-mini
// (transformers `rope_type: "longrope"`, legacy `"su"`): searched per-pair
// rescale factors λ_j, one list for short and one for long contexts,
// ω_j = 1/(λ_j·base^(2j/d)), and q and k scaled by sqrt(1 + ln s / ln L0).
#ifndef ROPEKIT_SCALING_LONGROPE_HPP
#define ROPEKIT_SCALING_LONGROPE_HPP

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../version.hpp"
#include "default.hpp"

#include "../detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace scaling {

/// Phi-3 style LongRoPE.
///
/// Frequencies: ω_j = base^(-2j/d) / λ_j, λ = `short_factor` or
/// `long_factor` (one entry per rotary pair: rotary_dim/2 entries, checked
/// when the frequencies for a `RotaryDims` are built).
/// Attention factor (both lists): explicit `attention_factor`; else with
/// s = explicit `factor`, or max_position_embeddings / L0:
/// 1 if s <= 1, else sqrt(1 + ln s / ln L0).
///
/// Which list, `Selection`:
/// * `per_call` (transformers): each call sees seq_len = its largest
///   position + 1 and uses the long factors iff seq_len > L0, the short ones
///   otherwise, switching back too (a later short call uses short again).
///   The state starts at short, as transformers initialises. A batch gets
///   one table: long if any of its positions passes L0.
/// * `always_short` / `always_long`: fixed per deployment, as vLLM (long
///   iff max_model_len > L0) and llama.cpp (long iff the per-sequence
///   context n_ctx_seq > n_ctx_orig) decide. The state never changes, so
///   concurrent `apply` calls on one `Rope` only read.
///
/// KV cache: with `per_call`, keys cached while short factors were active
/// carry a different rotation from queries after the switch. transformers'
/// Phi-3 generation drops the cache and re-prefills when it first crosses L0
/// (PR #33129); onnxruntime-genai rewinds and recomputes (PR #1161). With
/// ropekit an engine can instead move cached keys exactly, in one pass:
/// `retable` (retable.hpp) from `Rope::table_for(Factors::short_factors)` to
/// `table_for(Factors::long_factors)`. Fixed selections avoid
/// the switch but pick one list for every prompt: llama.cpp #8995 reports
/// that long factors chosen from a large KV size degrade short prompts.
///
/// Elsewhere: vLLM `Phi3LongRoPEScaledRotaryEmbedding` builds both caches
/// (short: L0 rows, long: max_position rows) and can override the factor per
/// list (`short_mscale`, `long_mscale`; not offered here); NeoX layout only.
/// llama.cpp divides the angle by λ_j (`rope_factors_long/short` tensors)
/// and takes the attention factor from the converter. transformers before v5
/// always used max_position_embeddings / L0 when a top-level L0 existed,
/// ignoring an explicit `factor`; ropekit uses `factor` when given.
class LongRope {
 public:
  static constexpr const char* name = "longrope";

  /// Which factor list a table uses.
  enum class Factors : std::uint8_t { short_factors = 0, long_factors = 1 };
  /// The list the current table uses.
  using state_type = Factors;

  enum class Selection : std::uint8_t { per_call, always_short, always_long };

  /// Fill member by member (C++20 designated initializers compile too, but
  /// GCC 12's -Wextra warns about every member they leave out).
  struct Params {
    /// λ per rotary pair, rotary_dim/2 entries each; required.
    std::vector<double> short_factor;
    std::vector<double> long_factor;
    /// L0, required; the per-call switch point and the ln L0 of the factor.
    std::int64_t original_max_position_embeddings = 0;
    /// The extended context; gives s = max_position_embeddings / L0 when
    /// `factor` is unset. 0 means unset.
    std::int64_t max_position_embeddings = 0;
    double base = 10000.0;
    /// s; takes precedence over max_position_embeddings / L0.
    std::optional<double> factor;
    /// Overrides the computed attention factor when set; must lie in
    /// [min_attention_factor, max_attention_factor]. (The computed one,
    /// sqrt(1 + ln s / ln L0), is at most 32 for any double s.)
    std::optional<double> attention_factor;
    Selection selection = Selection::per_call;
  };

  // Copies and moves declared in the baseline region (see version.hpp).
  LongRope(const LongRope&) = default;
  LongRope(LongRope&&) = default;
  LongRope& operator=(const LongRope&) = default;
  LongRope& operator=(LongRope&&) = default;
  explicit LongRope(Params params) : params_(std::move(params)) {
    const Params& p = params_;
    check_factor_list("short_factor", p.short_factor);
    check_factor_list("long_factor", p.long_factor);
    // ln L0 divides the attention factor; a context of one token is no model.
    detail::require(p.original_max_position_embeddings > 1, "original_max_position_embeddings",
                    p.original_max_position_embeddings, "must be at least 2");
    detail::require(p.max_position_embeddings >= 0, "max_position_embeddings",
                    p.max_position_embeddings, "must be positive, or 0 for unset");
    detail::require_positive_finite("base", p.base);
    if (p.factor) detail::require_positive_finite("factor", *p.factor);
    if (p.attention_factor && !detail::attention_factor_in_range(*p.attention_factor))
      detail::fail("attention_factor", *p.attention_factor, detail::attention_factor_range_text());
    if (!p.factor && !p.attention_factor && p.max_position_embeddings == 0)
      detail::fail("max_position_embeddings", p.max_position_embeddings,
                   "must be set when neither factor nor attention_factor is given "
                   "(the attention factor needs s = max_position_embeddings / "
                   "original_max_position_embeddings)");
    const int selection = static_cast<int>(p.selection);
    detail::require(selection >= 0 && selection <= 2, "selection", selection,
                    "must be per_call, always_short or always_long");
  }

  const Params& params() const noexcept { return params_; }
  Selection selection() const noexcept { return params_.selection; }
  std::int64_t original_max_position_embeddings() const noexcept {
    return params_.original_max_position_embeddings;
  }
  double base() const noexcept { return params_.base; }

  /// s: explicit factor, else max_position_embeddings / L0 (1 when neither
  /// is set, which only happens with an explicit attention factor).
  double factor() const noexcept {
    if (params_.factor) return *params_.factor;
    if (params_.max_position_embeddings == 0) return 1.0;
    return static_cast<double>(params_.max_position_embeddings) /
           static_cast<double>(params_.original_max_position_embeddings);
  }

  double attention_factor() const noexcept {
    if (params_.attention_factor) return *params_.attention_factor;
    const double s = factor();
    if (s <= 1.0) return 1.0;
    const long double ratio =
        std::log(static_cast<long double>(s)) /
        std::log(static_cast<long double>(params_.original_max_position_embeddings));
    return static_cast<double>(std::sqrt(1.0L + ratio));
  }

  state_type initial_state() const noexcept {
    return params_.selection == Selection::always_long ? Factors::long_factors
                                                       : Factors::short_factors;
  }

  /// Both states: a Rope builds their tables once, up front.
  std::array<Factors, 2> all_states() const noexcept {
    return {Factors::short_factors, Factors::long_factors};
  }

  /// transformers' `longrope_frequency_update` for `per_call`; fixed otherwise.
  state_type next_state(state_type current, std::int64_t seq_len) const noexcept {
    if (params_.selection != Selection::per_call) return current;
    return seq_len > params_.original_max_position_embeddings ? Factors::long_factors
                                                              : Factors::short_factors;
  }

  /// The λ list a state uses.
  const std::vector<double>& factors(state_type state) const noexcept {
    return state == Factors::long_factors ? params_.long_factor : params_.short_factor;
  }

  Frequencies frequencies(const RotaryDims& dims, state_type state) const {
    // Both lists, whichever is asked for: a wrong length or a factor that
    // puts a frequency out of range fails when the Rope is built, not at the
    // first long prompt.
    check_list_length("short_factor", params_.short_factor, dims);
    check_list_length("long_factor", params_.long_factor, dims);
    Frequencies f = detail::default_frequencies(params_.base, dims);
    detail::require_inv_freq_in_range(f, "base", params_.base);
    check_list_range("short_factor", params_.short_factor, f.inv_freq);
    check_list_range("long_factor", params_.long_factor, f.inv_freq);
    const std::vector<double>& lambda = factors(state);
    for (std::size_t j = 0; j < f.inv_freq.size(); ++j)
      f.inv_freq[j] /= static_cast<long double>(lambda[j]);
    f.attention_factor = attention_factor();
    return f;
  }

 private:
  static void check_factor_list(const char* list, const std::vector<double>& values) {
    for (std::size_t j = 0; j < values.size(); ++j)
      if (!(std::isfinite(values[j]) && values[j] > 0.0))
        detail::fail((std::string(list) + "[" + std::to_string(j) + "]").c_str(), values[j],
                     "must be finite and positive");
  }

  // ω_j / λ_j must stay in range for every pair of the list.
  static void check_list_range(const char* list, const std::vector<double>& values,
                               const std::vector<long double>& unscaled) {
    for (std::size_t j = 0; j < unscaled.size(); ++j) {
      const long double w = unscaled[j] / static_cast<long double>(values[j]);
      if (!detail::inv_freq_in_range(w))
        detail::fail((std::string(list) + "[" + std::to_string(j) + "]").c_str(), values[j],
                     detail::inv_freq_out_of_range_text(static_cast<std::int64_t>(j), w));
    }
  }

  static void check_list_length(const char* list, const std::vector<double>& values,
                                const RotaryDims& dims) {
    if (static_cast<std::int64_t>(values.size()) != dims.pairs())
      detail::fail((std::string(list) + " length").c_str(), values.size(),
                   "must equal rotary_dim / 2 = " + std::to_string(dims.pairs()) +
                       " (one factor per rotary pair; rotary_dim = " +
                       std::to_string(dims.rotary_dim()) + ")");
  }

  Params params_;
};

}  // namespace scaling
ROPEKIT_END_NAMESPACE

#include "../detail/macros_end.inl"

#endif  // ROPEKIT_SCALING_LONGROPE_HPP
