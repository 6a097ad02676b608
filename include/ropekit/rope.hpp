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
  template <class T>
  void apply(HeadView<T> q, HeadView<T> k, const Positions& positions) {
    forward<T>({q, k}, {"q", "k"}, positions);
  }
  /// Rotates q only.
  template <class T>
  void apply_q(HeadView<T> q, const Positions& positions) {
    forward<T>({q}, {"q"}, positions);
  }
  /// Rotates k only (e.g. keys written to a cache).
  template <class T>
  void apply_k(HeadView<T> k, const Positions& positions) {
    forward<T>({k}, {"k"}, positions);
  }

  /// Undoes `apply` with the current table (does not advance the state).
  template <class T>
  void apply_inverse(HeadView<T> q, HeadView<T> k, const Positions& positions) const {
    rotate_inverse<L>(table_, dims_, q, k, positions);
  }
  template <class T>
  void apply_inverse(HeadView<T> x, const Positions& positions) const {
    rotate_inverse<L>(table_, dims_, x, positions);
  }

 private:
  // Validate everything, then advance transformers' per-forward state
  // (seq_len = largest position + 1), then rotate: a rejected call changes
  // neither the tensors nor the state.
  template <class T, std::size_t N>
  void forward(const HeadView<T> (&views)[N], const char* const (&names)[N],
               const Positions& positions) {
    const std::int64_t largest = detail::validate_call(table_, dims_, views, names, positions);
    if constexpr (length_dependent) {
      const auto next = largest < 0 ? state_ : policy_.next_state(state_, largest + 1);
      if (next != state_) {
        // Build first: if the policy throws, nothing has changed.
        FrequencyTable next_table(dims_, policy_.frequencies(dims_, next));
        table_ = std::move(next_table);
        state_ = next;
      }
    }
    (void)largest;
    detail::unchecked_rotate<L>(table_, dims_, views, positions, detail::Direction::forward);
  }

  RotaryDims dims_;
  Policy policy_;
  FrequencyTable table_;
  typename detail::policy_state<Policy>::type state_{};
};

ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_ROPE_HPP
