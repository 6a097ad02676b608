// SPDX-License-Identifier: Apache-2.0
// What a scaling policy produces (inverse frequencies and an attention
// factor), the traits that tell static policies from length-dependent ones,
// and the angle table the kernels read.
#ifndef ROPEKIT_FREQUENCIES_HPP
#define ROPEKIT_FREQUENCIES_HPP

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dims.hpp"
#include "error.hpp"
#include "version.hpp"

ROPEKIT_BEGIN_NAMESPACE

/// A policy's output for one head geometry.
///
/// Inverse frequencies are `long double` on purpose: at position 2^31 an
/// angle needs ~64 bits of the frequency to be right to float precision, so
/// policies evaluate their formulas in extended precision (x86-64 and AArch64
/// Linux have 64- and 113-bit long doubles).
struct Frequencies {
  /// ω_j for j in [0, rotary_dim/2): radians per position of pair j.
  std::vector<long double> inv_freq;
  /// Multiplies cos and sin (so q and k, and the logits by its square).
  double attention_factor = 1.0;
  /// Multimodal rotary: the position axis each pair reads. Empty means every
  /// pair reads axis 0.
  std::vector<std::uint8_t> position_axis;
  /// Position ids per token the policy expects (3 for M-RoPE, even when a
  /// section is empty and no pair reads some axis).
  int position_axes = 1;
};

/// Policies whose frequencies depend on the sequence length seen so far
/// (dynamic NTK, LongRoPE's per-call choice) declare `state_type` plus
/// `initial_state()`, `next_state(current, seq_len)` and
/// `frequencies(dims, state)`. Static policies have `frequencies(dims)`.
template <class Policy, class = void>
struct is_length_dependent : std::false_type {};
template <class Policy>
struct is_length_dependent<Policy, std::void_t<typename Policy::state_type>>
    : std::true_type {};
template <class Policy>
inline constexpr bool is_length_dependent_v = is_length_dependent<Policy>::value;

namespace detail {

// The state a length-dependent policy carries; a placeholder for static ones.
template <class Policy, bool = is_length_dependent_v<Policy>>
struct policy_state {
  using type = char;
};
template <class Policy>
struct policy_state<Policy, true> {
  using type = typename Policy::state_type;
};

inline constexpr long double kTwoPiL = 6.283185307179586476925286766559005768L;

// Rounds x to `bits` significant bits, exactly, in long double.
inline long double round_to_bits(long double x, int bits) {
  if (x == 0.0L) return 0.0L;
  int exponent = 0;
  const long double mantissa = std::frexp(x, &exponent);
  return std::ldexp(std::nearbyint(std::ldexp(mantissa, bits)), exponent - bits);
}

}  // namespace detail

namespace detail {
struct AngleTable;
struct TableAccess;
}  // namespace detail

/// The angle table every kernel reads: per pair, the turns per position
/// (ω_j / 2π) split into three doubles so that `position * part` is exact for
/// the first two (21 significant bits each times a 31-bit position fits a
/// double) and the third is a tiny correction. The fractional turn is then
/// accurate to ~1e-16 at any position up to 2^31-1, where a plain
/// float32 `p * ω` (transformers, llama.cpp) is off by up to a whole radian.
///
/// Immutable once built and cheap to copy (copies share the arrays), so a
/// table can be handed to any number of threads and outlive the `Rope` that
/// produced it.
class FrequencyTable {
 public:
  /// An empty table (no pairs); assign a real one before rotating with it.
  FrequencyTable() : data_(std::make_shared<const Data>()) {}

  FrequencyTable(const RotaryDims& dims, const Frequencies& frequencies)
      : data_(std::make_shared<const Data>(build(dims, frequencies))) {}

  std::int64_t pairs() const noexcept { return static_cast<std::int64_t>(data_->inv_freq.size()); }
  /// ω_j rounded to double, for reporting and tests.
  const std::vector<double>& inv_freq() const noexcept { return data_->inv_freq; }
  double attention_factor() const noexcept { return data_->attention_factor; }
  /// Position axes the pairs read (1 unless multimodal).
  int axes() const noexcept { return data_->axes; }
  /// The axis each pair reads (`pairs()` entries, then zero padding).
  const std::uint8_t* position_axis() const noexcept { return data_->axis.data(); }

 private:
  friend struct detail::TableAccess;

  struct Data {
    std::vector<double> inv_freq, turns_hi, turns_mid, turns_lo, quarters_head, quarters_tail;
    std::vector<std::uint8_t> axis;
    double attention_factor = 1.0;
    int axes = 1;
  };

  static Data build(const RotaryDims& dims, const Frequencies& frequencies) {
    Data d;
    d.attention_factor = frequencies.attention_factor;
    d.axes = frequencies.position_axes;
    if (d.axes < 1 || d.axes > 3)
      detail::fail("position_axes", d.axes, "must be 1, 2 or 3");
    const std::size_t pairs = static_cast<std::size_t>(dims.pairs());
    if (frequencies.inv_freq.size() != pairs)
      detail::fail("inv_freq size", frequencies.inv_freq.size(),
                   "must equal rotary_dim / 2 = " + std::to_string(pairs));
    if (!(std::isfinite(d.attention_factor) && d.attention_factor > 0.0))
      detail::fail("attention_factor", d.attention_factor, "must be finite and positive");
    if (!frequencies.position_axis.empty() && frequencies.position_axis.size() != pairs)
      detail::fail("position_axis size", frequencies.position_axis.size(),
                   "must be empty or equal rotary_dim / 2 = " + std::to_string(pairs));
    // Kernels read whole vectors of up to 16 doubles past the last pair; the
    // zero padding makes those lanes harmless (angle 0).
    const std::size_t padded = (pairs + 15) / 16 * 16;
    d.inv_freq.resize(pairs);
    d.turns_hi.assign(padded, 0.0);
    d.turns_mid.assign(padded, 0.0);
    d.turns_lo.assign(padded, 0.0);
    d.quarters_head.assign(padded, 0.0);
    d.quarters_tail.assign(padded, 0.0);
    d.axis.assign(padded, 0);
    for (std::size_t j = 0; j < pairs; ++j) {
      const long double w = frequencies.inv_freq[j];
      if (!(std::isfinite(w) && w >= 0.0L))
        detail::fail(("inv_freq[" + std::to_string(j) + "]").c_str(),
                     static_cast<double>(w), "must be finite and not negative");
      d.inv_freq[j] = static_cast<double>(w);
      const long double turns = w / detail::kTwoPiL;
      const long double hi = detail::round_to_bits(turns, 21);
      const long double mid = detail::round_to_bits(turns - hi, 21);
      d.turns_hi[j] = static_cast<double>(hi);
      d.turns_mid[j] = static_cast<double>(mid);
      d.turns_lo[j] = static_cast<double>(turns - hi - mid);
      // Whole turns never matter (positions are integers), so the quarter
      // turns are kept mod 4: then position * head stays below 2^33.
      long double quarters = 4.0L * turns;
      quarters -= 4.0L * std::floor(quarters / 4.0L);
      d.quarters_head[j] = static_cast<double>(quarters);
      d.quarters_tail[j] =
          static_cast<double>(quarters - static_cast<long double>(d.quarters_head[j]));
      if (!frequencies.position_axis.empty()) {
        const int axis = frequencies.position_axis[j];
        if (axis >= d.axes)
          detail::fail(("position_axis[" + std::to_string(j) + "]").c_str(), axis,
                       "must be below position_axes = " + std::to_string(d.axes));
        d.axis[j] = static_cast<std::uint8_t>(axis);
      }
    }
    return d;
  }

  std::shared_ptr<const Data> data_;
};

ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_FREQUENCIES_HPP
