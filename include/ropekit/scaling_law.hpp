// SPDX-License-Identifier: Apache-2.0
// Closed-form RoPE scaling laws and the long-term-decay bound on the base:
// which base (or NTK factor) lets a model reach a given context length.
//
//   Liu et al. 2023, "Scaling Laws of RoPE-based Extrapolation",
//   arXiv 2310.05209: critical dimension, extrapolation limit of a tuned base,
//   the base a target length needs, and the smaller-base thresholds.
//   Men et al. 2024, "Base of RoPE Bounds Context Length", arXiv 2405.14591:
//   the smallest base whose B(m) = sum_j cos(m * w_j) stays >= 0 up to L.
//
// Everything here is double precision and analysis-time only (no SIMD, no
// kernels): it answers planning questions, it does not rotate tensors.
#ifndef ROPEKIT_SCALING_LAW_HPP
#define ROPEKIT_SCALING_LAW_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"
#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// How a model was pretrained, as far as Liu et al.'s laws are concerned.
/// `rotary_dim` and `train_length` have no meaningful default and are
/// rejected while left at 0; `base` defaults to LLaMA's 10000, the base the
/// paper's laws are stated for (here generalised to any pretraining base).
struct RopePretraining {
  /// Rotary width d (the frequency exponent's denominator, not head_dim).
  std::int64_t rotary_dim = 0;
  /// Context length T_train the model was pretrained at, in tokens.
  double train_length = 0;
  /// Pretraining RoPE base; must be > 1 because the laws take log_base.
  double base = 10000;
};

/// Which form of Liu et al.'s bound to use.
enum class BoundForm {
  /// The paper's form: exponent d_extra / d with the ceil of
  /// critical_dimension(), i.e. the period of the first pair that never
  /// completed a full turn during pretraining.
  discrete,
  /// The same law without the ceil: exponent log_base(T_train / 2pi). Always
  /// <= the discrete bound, so the base it asks for is the conservative one.
  continuous,
};

/// Liu et al.'s smaller-base thresholds for a tuning length T. They bound
/// the longest period of a base b by 2*pi*b, as the paper does.
struct SmallerBaseThresholds {
  /// beta1 = 2T/pi: at or below it every pair sees at least a quarter period.
  double quarter_period;
  /// beta2 = T/pi: at or below it every pair sees at least half a period.
  double half_period;
  /// beta3 = T/(2 pi): at or below it every pair completes a full period.
  double full_period;
};

/// Where a base sits relative to SmallerBaseThresholds.
enum class BaseRegime {
  /// base <= T/2pi: every pair completes a full period within T, so there is
  /// no period-based extrapolation bound (Liu et al.: base 500 tuned at 16K
  /// extrapolates to ~1M tokens).
  full_period,
  /// T/2pi < base <= T/pi: every pair sees at least half a period.
  half_period,
  /// T/pi < base <= 2T/pi: every pair sees at least a quarter period.
  quarter_period,
  /// base > 2T/pi: the slowest pairs see less than a quarter period; the
  /// critical-dimension (larger-base) law applies.
  larger_base,
};

/// One row of the per-pair table: how much of its period pair j sees.
struct PairPeriod {
  /// Pair index j in [0, rotary_dim / 2).
  std::int64_t pair;
  /// Angular frequency w_j in radians per token (0 for an unrotated pair).
  double inv_freq;
  /// Period 2*pi / w_j in tokens; +infinity when w_j == 0.
  double period;
  /// length / period: how many periods fit in the length (0 when w_j == 0).
  double periods_seen;
  /// period <= length: the pair completed at least one full turn.
  bool full_period_seen;
};

/// A log-spaced grid of bases, point k = 10^(log10(start) + k * log10_step),
/// scanned upward until `stop`. The defaults are 1715 points from 1e3 to
/// 1e12, a 1.2164% step: the grid behind the table of Men et al.'s lower
/// bounds in the tests and the README. For a relative step r use
/// `log10_step = std::log10(1 + r)`.
struct BaseGrid {
  double start = 1e3;
  double log10_step = 9.0 / 1714;
  double stop = 1e12;

  /// The k-th grid point, computed the way numpy's logspace does so that the
  /// published table is reproducible point for point.
  double at(std::int64_t k) const {
    return std::pow(10.0,
                    std::log10(start) + static_cast<double>(k) * log10_step);
  }
};

namespace detail {

inline constexpr double scaling_law_pi = 3.14159265358979323846;
inline constexpr double scaling_law_two_pi = 2 * scaling_law_pi;

// Same cap as RotaryDims: far above any model, and it keeps the decay scans'
// scratch buffers small.
inline constexpr std::int64_t scaling_law_max_rotary_dim = 65536;

// How often the rotation recurrence in scaling_law_scan_decay is re-anchored
// with std::cos/std::sin. Each recurrence step adds a few ulp of error, so
// 512 steps keep every term within ~1e-13 of the directly computed cosine
// (itself only good to |m * w| * 1.1e-16), while the re-anchor costs two
// libm calls per pair per 512 positions.
inline constexpr std::int64_t scaling_law_resync_period = 512;

inline std::string scaling_law_format(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

inline void scaling_law_check_rotary_dim(std::int64_t rotary_dim) {
  require(rotary_dim > 0, "rotary_dim", rotary_dim, "must be positive");
  require(rotary_dim % 2 == 0, "rotary_dim", rotary_dim,
          "must be even (channels rotate in pairs)");
  require(rotary_dim <= scaling_law_max_rotary_dim, "rotary_dim", rotary_dim,
          "must be at most 65536");
}

inline void scaling_law_check_positive(const char* name, double value) {
  require(std::isfinite(value) && value > 0, name, value,
          "must be finite and positive");
}

inline void scaling_law_check_model(const RopePretraining& model) {
  scaling_law_check_rotary_dim(model.rotary_dim);
  scaling_law_check_positive("train_length", model.train_length);
  // log_1 is undefined and a base below 1 makes w_j grow with j; neither is
  // a RoPE model the laws were fitted on.
  require(std::isfinite(model.base) && model.base > 1, "base", model.base,
          "must be finite and > 1 (the scaling laws take log_base)");
}

// Liu et al.'s laws are the larger-base laws: a tuned base below the
// pretraining base is covered by classify_base, not by these formulas.
inline void scaling_law_check_tuned_base(const RopePretraining& model,
                                         double tuned_base) {
  if (!(std::isfinite(tuned_base) && tuned_base >= model.base))
    fail("tuned_base", tuned_base,
         "must be finite and >= the pretraining base " +
             scaling_law_format(model.base) +
             " (larger-base law; see classify_base for smaller bases)");
}

inline void scaling_law_check_inv_freq(const double* inv_freq,
                                       std::size_t pairs) {
  require(pairs > 0, "pairs", pairs, "must be positive");
  require(pairs <= static_cast<std::size_t>(scaling_law_max_rotary_dim / 2),
          "pairs", pairs, "must be at most 32768");
  if (inv_freq == nullptr)
    fail("inv_freq", "nullptr", "must point to `pairs` frequencies");
  for (std::size_t j = 0; j < pairs; ++j) {
    if (!(std::isfinite(inv_freq[j]) && inv_freq[j] >= 0)) {
      const std::string name = "inv_freq[" + std::to_string(j) + "]";
      fail(name.c_str(), inv_freq[j], "must be finite and >= 0");
    }
  }
}

inline void scaling_law_check_context(std::int64_t context_length) {
  require(context_length > 0, "context_length", context_length,
          "must be positive");
}

// w_j = base^(-2j/d) in double, the exact default formula.
inline std::vector<double> scaling_law_inv_freq(std::int64_t rotary_dim,
                                                double base) {
  std::vector<double> inv_freq(static_cast<std::size_t>(rotary_dim / 2));
  for (std::size_t j = 0; j < inv_freq.size(); ++j)
    inv_freq[j] = std::pow(
        base, -2.0 * static_cast<double>(j) / static_cast<double>(rotary_dim));
  return inv_freq;
}

// (d/2) * log_base(T_train / 2pi): how many pairs (as a real number) complete
// a full period within T_train. Pair j's period is 2pi * base^(2j/d), so pair
// j completes one iff j <= this value.
inline double scaling_law_critical_pairs(const RopePretraining& model) {
  return static_cast<double>(model.rotary_dim / 2) *
         std::log(model.train_length / scaling_law_two_pi) /
         std::log(model.base);
}

// Walks positions from `from` to `to` (inclusive, either direction) and
// returns the first visited m with B(m) = sum_j cos(m * w_j) < 0, or -1.
//
// Calling std::cos for every pair at every position dominates a naive scan;
// instead each (cos, sin) pair is advanced by one complex multiplication by
// e^(+-i w_j), which is exact up to rounding, and re-anchored from libm every
// scaling_law_resync_period steps so that rounding cannot accumulate.
//
// Pairs are padded to a multiple of 4 with c = s = 0 rotating by 1 + 0i, so
// padding adds exactly 0. That lets B(m) use four accumulators with no tail
// loop: one serial sum would chain `pairs` dependent adds per position.
inline std::int64_t scaling_law_scan_decay(const double* inv_freq,
                                           std::size_t pairs, std::int64_t from,
                                           std::int64_t to) {
  const bool upward = to >= from;
  const std::int64_t direction = upward ? 1 : -1;
  const std::size_t padded = (pairs + 3) / 4 * 4;
  std::vector<double> scratch(4 * padded, 0.0);
  double* const c = scratch.data();
  double* const s = c + padded;
  double* const step_c = s + padded;
  double* const step_s = step_c + padded;
  for (std::size_t j = 0; j < padded; ++j) {
    const double sine = j < pairs ? std::sin(inv_freq[j]) : 0.0;
    step_c[j] = j < pairs ? std::cos(inv_freq[j]) : 1.0;
    step_s[j] = upward ? sine : -sine;
  }
  std::int64_t m = from;
  for (std::int64_t steps = 0;; ++steps) {
    if (steps % scaling_law_resync_period == 0) {
      for (std::size_t j = 0; j < pairs; ++j) {
        const double angle = static_cast<double>(m) * inv_freq[j];
        c[j] = std::cos(angle);
        s[j] = std::sin(angle);
      }
    } else {
      for (std::size_t j = 0; j < padded; ++j) {
        const double next_c = c[j] * step_c[j] - s[j] * step_s[j];
        const double next_s = s[j] * step_c[j] + c[j] * step_s[j];
        c[j] = next_c;
        s[j] = next_s;
      }
    }
    double acc[4] = {0, 0, 0, 0};
    for (std::size_t j = 0; j < padded; j += 4)
      for (std::size_t l = 0; l < 4; ++l) acc[l] += c[j + l];
    if ((acc[0] + acc[1]) + (acc[2] + acc[3]) < 0) return m;
    if (m == to) return -1;
    m += direction;
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------
// Liu et al. 2023, larger-base law
// ---------------------------------------------------------------------------

/// Critical dimension d_extra = 2 * ceil((d/2) * log_base(T_train / 2pi))
/// (Liu et al. 2023, with log_10000 generalised to the pretraining base):
/// channels [0, d_extra), i.e. pairs j < d_extra / 2, completed a full period
/// during pretraining. Clamped to [0, d]: 0 when T_train <= 2pi (not even
/// pair 0 turned once), d when every pair completed a period. d=128,
/// T_train=4096, base 1e4 gives 92 (pairs 0..45).
inline std::int64_t critical_dimension(const RopePretraining& model) {
  detail::scaling_law_check_model(model);
  const double pairs = detail::scaling_law_critical_pairs(model);
  const std::int64_t half = model.rotary_dim / 2;
  if (pairs <= 0) return 0;
  if (pairs >= static_cast<double>(half)) return model.rotary_dim;
  return 2 * static_cast<std::int64_t>(std::ceil(pairs));
}

/// Extrapolation upper bound T_extra = 2pi * tuned_base^(d_extra / d) of a
/// model fine-tuned at T_train with a base >= its pretraining base (Liu et
/// al. 2023). The continuous form uses log_base(T_train / 2pi) for
/// d_extra / d. Returns +infinity when critical_dimension() == d: every pair
/// was trained through a full period, so no period-based bound exists.
/// d=128, T=4096: tuned base 1e6 -> 129027 (continuous: 104580).
inline double extrapolation_limit(const RopePretraining& model,
                                  double tuned_base,
                                  BoundForm form = BoundForm::discrete) {
  detail::scaling_law_check_model(model);
  detail::scaling_law_check_tuned_base(model, tuned_base);
  const std::int64_t d_extra = critical_dimension(model);
  if (d_extra == model.rotary_dim)
    return std::numeric_limits<double>::infinity();
  const double exponent =
      form == BoundForm::discrete
          ? static_cast<double>(d_extra) / static_cast<double>(model.rotary_dim)
          : std::fmax(
                0.0, std::log(model.train_length / detail::scaling_law_two_pi) /
                         std::log(model.base));
  return detail::scaling_law_two_pi * std::pow(tuned_base, exponent);
}

/// The smallest base >= the pretraining base whose extrapolation_limit()
/// reaches `target_length` (Liu et al. 2023). The default continuous form is
/// the paper's beta = base^(log_{T_train/2pi}(target / 2pi)); it is the
/// conservative answer, because the discrete limit of that base is >= the
/// target too. Returns the pretraining base when the target is already
/// within reach (target <= T_train, or every pair completed a period), and
/// +infinity when no base can reach it under this law (T_train <= 2pi).
/// d=128, T=4096: 16384 -> 71738, 100000 -> 938327, 1048576 -> 2.65e7.
inline double base_for_context(const RopePretraining& model,
                               double target_length,
                               BoundForm form = BoundForm::continuous) {
  detail::scaling_law_check_model(model);
  detail::scaling_law_check_positive("target_length", target_length);
  const std::int64_t d_extra = critical_dimension(model);
  if (d_extra == model.rotary_dim) return model.base;
  const double target_turns =
      std::log(target_length / detail::scaling_law_two_pi);
  double needed;
  if (form == BoundForm::discrete) {
    if (d_extra == 0)
      return target_length <= detail::scaling_law_two_pi
                 ? model.base
                 : std::numeric_limits<double>::infinity();
    // 2pi * beta^(d_extra/d) >= target  <=>  beta >= (target/2pi)^(d/d_extra)
    needed = std::exp(target_turns * static_cast<double>(model.rotary_dim) /
                      static_cast<double>(d_extra));
  } else {
    const double train_turns =
        std::log(model.train_length / detail::scaling_law_two_pi);
    if (train_turns <= 0)
      return target_length <= detail::scaling_law_two_pi
                 ? model.base
                 : std::numeric_limits<double>::infinity();
    needed = std::pow(model.base, target_turns / train_turns);
  }
  return std::fmax(needed, model.base);
}

/// NTK-aware factor s with base * s^(d/(d-2)) == tuned_base (bloc97's
/// static NTK, vLLM's `alpha`): the factor a runtime needs in order to
/// obtain a base computed by base_for_context(). Requires rotary_dim >= 4.
inline double ntk_factor_for_base(const RopePretraining& model,
                                  double tuned_base) {
  detail::scaling_law_check_model(model);
  detail::require(model.rotary_dim >= 4, "rotary_dim", model.rotary_dim,
                  "must be at least 4 for the NTK exponent d/(d-2)");
  detail::scaling_law_check_tuned_base(model, tuned_base);
  const double d = static_cast<double>(model.rotary_dim);
  return std::pow(tuned_base / model.base, (d - 2) / d);
}

// ---------------------------------------------------------------------------
// Liu et al. 2023, smaller-base regime
// ---------------------------------------------------------------------------

/// beta1 = 2T/pi, beta2 = T/pi, beta3 = T/2pi for a tuning length T
/// (T=4096: 2607.6 / 1303.8 / 651.9).
inline SmallerBaseThresholds smaller_base_thresholds(double train_length) {
  detail::scaling_law_check_positive("train_length", train_length);
  return {2 * train_length / detail::scaling_law_pi,
          train_length / detail::scaling_law_pi,
          train_length / detail::scaling_law_two_pi};
}

/// Classifies `base` against the thresholds for `train_length`; each
/// threshold is inclusive (base == T/2pi is full_period).
inline BaseRegime classify_base(double base, double train_length) {
  detail::scaling_law_check_positive("base", base);
  const SmallerBaseThresholds t = smaller_base_thresholds(train_length);
  if (base <= t.full_period) return BaseRegime::full_period;
  if (base <= t.half_period) return BaseRegime::half_period;
  if (base <= t.quarter_period) return BaseRegime::quarter_period;
  return BaseRegime::larger_base;
}

/// "full_period" / "half_period" / "quarter_period" / "larger_base".
constexpr const char* base_regime_name(BaseRegime regime) noexcept {
  switch (regime) {
    case BaseRegime::full_period:
      return "full_period";
    case BaseRegime::half_period:
      return "half_period";
    case BaseRegime::quarter_period:
      return "quarter_period";
    case BaseRegime::larger_base:
      return "larger_base";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------
// Per-pair table
// ---------------------------------------------------------------------------

/// Period table for arbitrary angular frequencies (for example the inv_freq
/// of a scaled policy): one row per pair, measured against `length`.
/// Zero frequencies (unrotated pairs) get an infinite period.
inline std::vector<PairPeriod> pair_periods(const double* inv_freq,
                                            std::size_t pairs, double length) {
  detail::scaling_law_check_inv_freq(inv_freq, pairs);
  detail::scaling_law_check_positive("length", length);
  std::vector<PairPeriod> rows(pairs);
  for (std::size_t j = 0; j < pairs; ++j) {
    const double w = inv_freq[j];
    const double period = w > 0 ? detail::scaling_law_two_pi / w
                                : std::numeric_limits<double>::infinity();
    rows[j] = {static_cast<std::int64_t>(j), w, period,
               w > 0 ? length / period : 0.0, period <= length};
  }
  return rows;
}

/// Same, for a vector of frequencies.
inline std::vector<PairPeriod> pair_periods(const std::vector<double>& inv_freq,
                                            double length) {
  return pair_periods(inv_freq.data(), inv_freq.size(), length);
}

/// Period table of the default frequencies base^(-2j/d), measured against
/// the training length; the first row with full_period_seen == false is
/// pair critical_dimension(model) / 2.
inline std::vector<PairPeriod> pair_periods(const RopePretraining& model) {
  detail::scaling_law_check_model(model);
  const std::vector<double> inv_freq =
      detail::scaling_law_inv_freq(model.rotary_dim, model.base);
  return pair_periods(inv_freq, model.train_length);
}

// ---------------------------------------------------------------------------
// Men et al. 2024, long-term decay bound on the base
// ---------------------------------------------------------------------------

/// B(m) = sum_j cos(m * w_j) at one position, computed directly with
/// std::cos (Men et al. 2024). B(0) == pairs.
inline double decay_sum(const double* inv_freq, std::size_t pairs,
                        std::int64_t position) {
  detail::scaling_law_check_inv_freq(inv_freq, pairs);
  detail::require(position >= 0, "position", position, "must be >= 0");
  double sum = 0;
  for (std::size_t j = 0; j < pairs; ++j)
    sum += std::cos(static_cast<double>(position) * inv_freq[j]);
  return sum;
}

/// Same, for a vector of frequencies.
inline double decay_sum(const std::vector<double>& inv_freq,
                        std::int64_t position) {
  return decay_sum(inv_freq.data(), inv_freq.size(), position);
}

/// Same, for the default frequencies base^(-2j/d).
inline double decay_sum(std::int64_t rotary_dim, double base,
                        std::int64_t position) {
  detail::scaling_law_check_rotary_dim(rotary_dim);
  detail::scaling_law_check_positive("base", base);
  const std::vector<double> inv_freq =
      detail::scaling_law_inv_freq(rotary_dim, base);
  return decay_sum(inv_freq, position);
}

/// The smallest m in [0, context_length] with B(m) < 0, or nullopt when
/// B(m) >= 0 throughout. m - 1 is the longest context these frequencies
/// support by Men et al.'s criterion, so this doubles as "how far does this
/// base go": d=128, base 1e4 first fails at m = 1707, base 5e5 at 18438.
/// Cost: up to context_length * pairs complex multiplications.
inline std::optional<std::int64_t> first_decay_violation(
    const double* inv_freq, std::size_t pairs, std::int64_t context_length) {
  detail::scaling_law_check_inv_freq(inv_freq, pairs);
  detail::scaling_law_check_context(context_length);
  const std::int64_t m =
      detail::scaling_law_scan_decay(inv_freq, pairs, 0, context_length);
  if (m < 0) return std::nullopt;
  return m;
}

/// Same, for a vector of frequencies.
inline std::optional<std::int64_t> first_decay_violation(
    const std::vector<double>& inv_freq, std::int64_t context_length) {
  return first_decay_violation(inv_freq.data(), inv_freq.size(),
                               context_length);
}

/// Same, for the default frequencies base^(-2j/d).
inline std::optional<std::int64_t> first_decay_violation(
    std::int64_t rotary_dim, double base, std::int64_t context_length) {
  detail::scaling_law_check_rotary_dim(rotary_dim);
  detail::scaling_law_check_positive("base", base);
  return first_decay_violation(detail::scaling_law_inv_freq(rotary_dim, base),
                               context_length);
}

/// True when B(m) >= 0 for every integer m in [0, context_length] (Men et
/// al.'s condition for a base to support that context).
///
/// Scans from context_length downward: bases that fail usually fail close
/// to the end of the range, so this rejects them after a few thousand
/// positions where an upward scan would walk almost the whole range. That
/// makes min_base_for_context 15-20x faster than an upward scan would.
inline bool decay_bound_holds(const double* inv_freq, std::size_t pairs,
                              std::int64_t context_length) {
  detail::scaling_law_check_inv_freq(inv_freq, pairs);
  detail::scaling_law_check_context(context_length);
  return detail::scaling_law_scan_decay(inv_freq, pairs, context_length, 0) < 0;
}

/// Same, for a vector of frequencies.
inline bool decay_bound_holds(const std::vector<double>& inv_freq,
                              std::int64_t context_length) {
  return decay_bound_holds(inv_freq.data(), inv_freq.size(), context_length);
}

/// Same, for the default frequencies base^(-2j/d): Llama-2 (d=128, base 1e4)
/// fails at 4096, whose bound is 2.88e4.
inline bool decay_bound_holds(std::int64_t rotary_dim, double base,
                              std::int64_t context_length) {
  detail::scaling_law_check_rotary_dim(rotary_dim);
  detail::scaling_law_check_positive("base", base);
  return decay_bound_holds(detail::scaling_law_inv_freq(rotary_dim, base),
                           context_length);
}

/// Men et al.'s lower bound of the base for `context_length`: the first
/// point of `grid` whose default frequencies satisfy decay_bound_holds(), or
/// nullopt if none up to grid.stop does. Returns grid.start itself when the
/// start already satisfies it; lower the start to look further down.
///
/// Feasibility is not monotonic in the base (for d=128, L=2048 the base
/// 11600 passes and 11700 fails again), so this scans upward instead of
/// bisecting, and a base above the result is not guaranteed to pass: check
/// the base you will deploy with decay_bound_holds(). The default grid
/// reproduces the published d=128 table from 1K to 256K point for point
/// (4K 2.88e4, 32K 9.38e5, 128K 8.26e6).
///
/// Cost: every rejected base is scanned downward from context_length, which
/// usually stops within a few thousand positions; the accepted base costs a
/// full scan. 1K..128K together take ~0.15 s, 1M ~1 s (-O2, one core).
inline std::optional<double> min_base_for_context(std::int64_t context_length,
                                                  std::int64_t rotary_dim,
                                                  const BaseGrid& grid = {}) {
  detail::scaling_law_check_context(context_length);
  detail::scaling_law_check_rotary_dim(rotary_dim);
  detail::scaling_law_check_positive("grid.start", grid.start);
  detail::scaling_law_check_positive("grid.log10_step", grid.log10_step);
  detail::require(std::isfinite(grid.stop) && grid.stop >= grid.start,
                  "grid.stop", grid.stop, "must be finite and >= grid.start");
  // A point computed through pow can land an ulp above a stop that lies on
  // the grid; the slack keeps that point in.
  const double last = grid.stop * (1 + 1e-12);
  std::vector<double> inv_freq;
  for (std::int64_t k = 0;; ++k) {
    const double base = grid.at(k);
    if (base > last) return std::nullopt;
    inv_freq = detail::scaling_law_inv_freq(rotary_dim, base);
    if (detail::scaling_law_scan_decay(inv_freq.data(), inv_freq.size(),
                                       context_length, 0) < 0)
      return base;
  }
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_SCALING_LAW_HPP
