// SPDX-License-Identifier: Apache-2.0
// Rope<Policy, Layout>: the object an engine keeps per model. It owns the
// angle table its policy produced and, for length-dependent policies, the
// state of transformers' update rule.
#ifndef ROPEKIT_ROPE_HPP
#define ROPEKIT_ROPE_HPP

#include <cstdint>
#include <utility>

#include "dims.hpp"
#include "frequencies.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "rotate.hpp"
#include "version.hpp"
#include "view.hpp"

ROPEKIT_BEGIN_NAMESPACE

/// Applies the rotation `Policy` defines, with channel pairing `L`.
///
/// For static policies every member is const in effect and `apply` may be
/// called from several threads at once. For length-dependent policies
/// (`DynamicNtk`, per-call `LongRope`) `apply` first advances the policy's
/// state from the call's largest position, exactly as transformers does per
/// forward pass; call it from one thread, or pin a table with `table_for`.
template <class Policy, Layout L = Layout::half_split>
class Rope {
 public:
  using policy_type = Policy;
  static constexpr Layout layout = L;
  static constexpr bool length_dependent = is_length_dependent_v<Policy>;

  explicit Rope(const RotaryDims& dims, Policy policy = Policy())
      : dims_(dims), policy_(std::move(policy)) {
    if constexpr (length_dependent) {
      state_ = policy_.initial_state();
      table_ = FrequencyTable(dims_, policy_.frequencies(dims_, state_));
    } else {
      table_ = FrequencyTable(dims_, policy_.frequencies(dims_));
    }
  }

  const RotaryDims& dims() const noexcept { return dims_; }
  const Policy& policy() const noexcept { return policy_; }
  /// The angle table the next call uses (for length-dependent policies, the
  /// one the last call used, until the next call advances it).
  const FrequencyTable& table() const noexcept { return table_; }
  const std::vector<double>& inv_freq() const noexcept { return table_.inv_freq(); }
  double attention_factor() const noexcept { return table_.attention_factor(); }

  /// Length-dependent policies: the table the policy gives in `state` (for
  /// `DynamicNtk`, a sequence length), without touching this object. Use it
  /// with `rotate`/`rotate_inverse` to pin one table per sequence or to
  /// re-rotate cached keys from an old table to a new one.
  template <class P = Policy, std::enable_if_t<is_length_dependent_v<P>, int> = 0>
  FrequencyTable table_for(typename P::state_type state) const {
    return FrequencyTable(dims_, policy_.frequencies(dims_, state));
  }

  /// Length-dependent policies: the current state (for `DynamicNtk`, the
  /// sequence length the table was computed for).
  template <class P = Policy, std::enable_if_t<is_length_dependent_v<P>, int> = 0>
  typename P::state_type state() const noexcept {
    return state_;
  }

  /// Rotates q and k in place (q and k may have different head counts).
  template <class T, class Tag = detail::native_tag>
  void apply(HeadView<T> q, HeadView<T> k, const Positions& positions) {
    forward<Tag, T>({q, k}, {"q", "k"}, positions);
  }
  /// Rotates q only.
  template <class T, class Tag = detail::native_tag>
  void apply_q(HeadView<T> q, const Positions& positions) {
    forward<Tag, T>({q}, {"q"}, positions);
  }
  /// Rotates k only (e.g. keys written to a cache).
  template <class T, class Tag = detail::native_tag>
  void apply_k(HeadView<T> k, const Positions& positions) {
    forward<Tag, T>({k}, {"k"}, positions);
  }

  /// Undoes `apply` with the current table (does not advance the state).
  template <class T, class Tag = detail::native_tag>
  void apply_inverse(HeadView<T> q, HeadView<T> k, const Positions& positions) const {
    rotate_inverse<L, T, Tag>(table_, dims_, q, k, positions);
  }
  template <class T, class Tag = detail::native_tag>
  void apply_inverse(HeadView<T> x, const Positions& positions) const {
    rotate_inverse<L, T, Tag>(table_, dims_, x, positions);
  }

  /// Length-dependent policies: advances the state for a call over `tokens`
  /// tokens at `positions` (validating them) and returns the table to rotate
  /// with; for splitting one call across threads with `rotate`. Static
  /// policies just return their table.
  const FrequencyTable& prepare(const Positions& positions, std::int64_t tokens) {
    advance(positions.validate(tokens));
    return table_;
  }

 private:
  // transformers' per-forward update: seq_len = largest position + 1. The
  // new table is built before the state changes, so a throw changes nothing.
  void advance(std::int64_t largest) {
    if constexpr (length_dependent) {
      if (largest < 0) return;
      const auto next = policy_.next_state(state_, largest + 1);
      if (next != state_) {
        FrequencyTable next_table(dims_, policy_.frequencies(dims_, next));
        table_ = std::move(next_table);
        state_ = next;
      }
    } else {
      (void)largest;
    }
  }

  // Validate everything, then advance the state, then rotate: a rejected
  // call changes neither the tensors nor the state.
  template <class Tag, class T, std::size_t N>
  void forward(const HeadView<T> (&views)[N], const char* const (&names)[N],
               const Positions& positions) {
    const std::int64_t largest = detail::validate_call(table_, dims_, views, names, positions);
    const Isa isa = Tag::resolve();
    advance(largest);
    Tag::template run<L>(isa, table_, dims_, views, positions, 0, views[0].tokens(),
                         detail::Direction::forward);
  }

  RotaryDims dims_;
  Policy policy_;
  FrequencyTable table_;
  typename detail::policy_state<Policy>::type state_{};
};

ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_ROPE_HPP
