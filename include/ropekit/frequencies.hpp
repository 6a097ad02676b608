// SPDX-License-Identifier: Apache-2.0
// What a scaling policy produces (inverse frequencies and an attention
// factor), the traits that tell static policies from length-dependent ones,
// and the angle table the kernels read.
#ifndef ROPEKIT_FREQUENCIES_HPP
#define ROPEKIT_FREQUENCIES_HPP

#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dims.hpp"
#include "error.hpp"
#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// Largest inverse frequency ropekit accepts, in radians per position: π.
/// At integer positions a higher frequency is indistinguishable from a lower
/// one (ω and ω - 2π rotate alike), no model comes near it (ω_0 = 1 at any
/// base >= 1; the largest in use is about 2), and up to π the angle table is
/// exact to far below float precision at every position (see FrequencyTable).
inline constexpr long double max_inv_freq = 3.141592653589793238462643383279502884L;

/// Attention factors ropekit accepts (they multiply cos and sin, so q and k):
/// [min_attention_factor, max_attention_factor]. Real models use about 1 to 2;
/// outside this range a rotation would overflow or underflow float storage.
inline constexpr double min_attention_factor = 1e-3;
inline constexpr double max_attention_factor = 1e3;

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
  /// Half-split parts: the rotary channels form this many equal consecutive
  /// parts, each half-split on its own (pair i of part p is channels
  /// (p*w + i, p*w + w/2 + i), w = rotary_dim / parts), as Gemma 4's vision
  /// tower rotates one part per position axis. 1 is the plain half-split.
  /// The interleaved layout pairs adjacent channels whatever the parts.
  int half_split_parts = 1;
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

inline bool inv_freq_in_range(long double inv_freq) noexcept {
  return inv_freq >= 0.0L && inv_freq <= max_inv_freq;  // false for NaN
}

// Index of the first inverse frequency outside [0, max_inv_freq] (NaN
// included), or -1 when all are inside.
inline std::int64_t first_inv_freq_out_of_range(const std::vector<long double>& inv_freq) noexcept {
  for (std::size_t j = 0; j < inv_freq.size(); ++j)
    if (!inv_freq_in_range(inv_freq[j])) return static_cast<std::int64_t>(j);
  return -1;
}

inline bool attention_factor_in_range(double factor) noexcept {
  return factor >= min_attention_factor && factor <= max_attention_factor;  // false for NaN
}

inline std::string inv_freq_range_text() {
  return "every inverse frequency must lie in [0, pi] radians per position (a higher one "
         "aliases onto a lower one at integer positions, and angles are exact up to pi)";
}

inline std::string attention_factor_range_text() {
  return "the attention factor must lie in [0.001, 1000] (real models use about 1 to 2)";
}

// "gives inv_freq[j] = w; <range>": the requirement a policy reports when a
// frequency computed from one of its parameters is out of range.
inline std::string inv_freq_out_of_range_text(std::int64_t j, long double inv_freq) {
  std::ostringstream text;
  text.precision(17);
  text << "gives inv_freq[" << j << "] = " << static_cast<double>(inv_freq) << "; "
       << inv_freq_range_text();
  return text.str();
}

// Policies call this on frequencies computed from `parameter`, so that an
// out-of-range frequency is reported as the parameter the user set.
template <class Value>
void require_inv_freq_in_range(const Frequencies& frequencies, const char* parameter,
                               const Value& value) {
  const std::int64_t j = first_inv_freq_out_of_range(frequencies.inv_freq);
  if (j >= 0)
    fail(parameter, value,
         inv_freq_out_of_range_text(j, frequencies.inv_freq[static_cast<std::size_t>(j)]));
}

// Rounds x to `bits` significant bits, exactly, in long double.
inline long double round_to_bits(long double x, int bits) {
  if (x == 0.0L) return 0.0L;
  int exponent = 0;
  const long double mantissa = std::frexp(x, &exponent);
  return std::ldexp(std::nearbyint(std::ldexp(mantissa, bits)), exponent - bits);
}

// One pair's turns per position in the forms the kernels read: three
// doubles whose sum is the long double (hi and mid of 21 significant bits, so
// position * part is exact; lo the rest: exactly with x86's 64-bit long
// double significand, to 2^-95 relative with AArch64's 113 bits), and the
// quarter turns mod 4 as a double-double. Signed turns (a difference of two
// tables) work too: the quarter turns still land in [0, 4).
struct PairTurns {
  double hi, mid, lo, quarters_head, quarters_tail;
};

inline PairTurns split_turns(long double turns) {
  PairTurns parts{};
  const long double hi = round_to_bits(turns, 21);
  const long double mid = round_to_bits(turns - hi, 21);
  parts.hi = static_cast<double>(hi);
  parts.mid = static_cast<double>(mid);
  parts.lo = static_cast<double>(turns - hi - mid);
  // Whole turns never matter (positions are integers), so the quarter
  // turns are kept mod 4: then position * head stays below 2^33.
  long double quarters = 4.0L * turns;
  quarters -= 4.0L * std::floor(quarters / 4.0L);
  parts.quarters_head = static_cast<double>(quarters);
  parts.quarters_tail = static_cast<double>(quarters - static_cast<long double>(parts.quarters_head));
  return parts;
}

}  // namespace detail

namespace detail {
struct AngleTable;
struct TableAccess;
}  // namespace detail

/// The angle table every kernel reads: per pair, the turns per position
/// (ω_j / 2π) split into three doubles so that `position * part` is exact for
/// the first two (21 significant bits each times a 31-bit position fits a
/// double) and the third is a tiny correction. The angle is then within
/// 1e-9 rad of position * ω at any position up to 2^31-1, where a plain
/// float32 `p * ω` (transformers, llama.cpp) is off by up to a whole radian.
///
/// Accepted: every ω_j in [0, max_inv_freq = π] and an attention factor in
/// [min_attention_factor, max_attention_factor]; policies check the same
/// ranges first, naming their own parameters, so this is a backstop for
/// hand-made `Frequencies`.
///
/// Why the bound on ω makes the angles exact (64-bit long double
/// significand; AArch64's 113 bits only shrink the error): turns = ω / 2π is
/// rounded twice (2π's own rounding and the division), a relative error
/// below 2^-63, and turns <= 1/2, so position * turns is off by at most
/// 2^31 * 2^-1 * 2^-63 = 2^-33 turn = 7.3e-10 rad at the largest position.
/// Everything after that is exact or far smaller: the three-part split
/// carries turns exactly (the third part holds at most its last 23 bits,
/// exact in a double), and the scalar kernel's sums round at ~1e-16; the SIMD
/// kernels' quarter turns mod 4 are formed exactly in long double and held
/// exactly as a double-double, and position * head < 2^31 * 4 = 2^33 keeps
/// the kernels' rounding of the product recoverable. The policies' own
/// rounding of ω (relative 2^-63) adds the same 7.3e-10 rad at most. The rest
/// of the 2e-7 error bound on cos/sin is float rounding in the kernels. No
/// stored quantity can overflow: |ω| <= π, turns and quarter turns < 4.
///
/// Immutable once built and cheap to copy (copies share the arrays), so a
/// table can be handed to any number of threads and outlive the `Rope` that
/// produced it.
class FrequencyTable {
 public:
  /// An empty table (no pairs); assign a real one before rotating with it.
  FrequencyTable() : data_(std::make_shared<const Data>()) {}
  FrequencyTable(const FrequencyTable&) = default;
  FrequencyTable(FrequencyTable&&) = default;
  FrequencyTable& operator=(const FrequencyTable&) = default;
  FrequencyTable& operator=(FrequencyTable&&) = default;

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
  /// Pairs the kernels rotate: `pairs()` less the trailing pairs whose
  /// rotation is the identity (zero frequency with attention factor 1, e.g.
  /// proportional RoPE's unrotated pairs), which every call skips, so that
  /// a call costs what its rotated channels cost.
  std::int64_t rotated_pairs() const noexcept { return data_->rotated_pairs; }
  /// Half-split parts (see Frequencies::half_split_parts).
  int half_split_parts() const noexcept { return data_->half_split_parts; }

 private:
  friend struct detail::TableAccess;

  struct Data {
    // Declared here so that units built with wider -m flags do not define
    // them implicitly outside ropekit's baseline region (see version.hpp).
    Data() = default;
    Data(const Data&) = default;
    Data(Data&&) = default;
    Data& operator=(const Data&) = default;
    Data& operator=(Data&&) = default;
    std::vector<double> inv_freq, turns_hi, turns_mid, turns_lo, quarters_head, quarters_tail;
    std::vector<std::uint8_t> axis;
    double attention_factor = 1.0;
    int axes = 1;
    std::int64_t rotated_pairs = 0;
    int half_split_parts = 1;
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
    if (!detail::attention_factor_in_range(d.attention_factor))
      detail::fail("attention_factor", d.attention_factor, detail::attention_factor_range_text());
    if (!frequencies.position_axis.empty() && frequencies.position_axis.size() != pairs)
      detail::fail("position_axis size", frequencies.position_axis.size(),
                   "must be empty or equal rotary_dim / 2 = " + std::to_string(pairs));
    d.half_split_parts = frequencies.half_split_parts;
    if (d.half_split_parts < 1 || pairs % static_cast<std::size_t>(d.half_split_parts) != 0)
      detail::fail("half_split_parts", d.half_split_parts,
                   "must be positive and divide rotary_dim / 2 = " + std::to_string(pairs));
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
      if (!detail::inv_freq_in_range(w))
        detail::fail(("inv_freq[" + std::to_string(j) + "]").c_str(), static_cast<double>(w),
                     detail::inv_freq_range_text());
      d.inv_freq[j] = static_cast<double>(w);
      const detail::PairTurns parts = detail::split_turns(w / detail::kTwoPiL);
      d.turns_hi[j] = parts.hi;
      d.turns_mid[j] = parts.mid;
      d.turns_lo[j] = parts.lo;
      d.quarters_head[j] = parts.quarters_head;
      d.quarters_tail[j] = parts.quarters_tail;
      if (!frequencies.position_axis.empty()) {
        const int axis = frequencies.position_axis[j];
        if (axis >= d.axes)
          detail::fail(("position_axis[" + std::to_string(j) + "]").c_str(), axis,
                       "must be below position_axes = " + std::to_string(d.axes));
        d.axis[j] = static_cast<std::uint8_t>(axis);
      }
    }
    // Trailing zero frequencies rotate by the identity only when nothing
    // scales cos and sin; parts keep every pair (each part is one unit).
    d.rotated_pairs = static_cast<std::int64_t>(pairs);
    if (d.attention_factor == 1.0 && d.half_split_parts == 1)
      while (d.rotated_pairs > 0 &&
             frequencies.inv_freq[static_cast<std::size_t>(d.rotated_pairs - 1)] == 0.0L)
        --d.rotated_pairs;
    return d;
  }

  std::shared_ptr<const Data> data_;
};

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_FREQUENCIES_HPP
