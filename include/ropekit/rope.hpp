// SPDX-License-Identifier: Apache-2.0
// Rope<Policy, Layout>: the object an engine keeps per model. It holds the
// angle tables its policy produces and, for length-dependent policies, the
// state of transformers' update rule.
#ifndef ROPEKIT_ROPE_HPP
#define ROPEKIT_ROPE_HPP

#include <atomic>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/execute.hpp"
#include "dims.hpp"
#include "frequencies.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "version.hpp"
#include "view.hpp"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// Length-dependent policies with few states (LongRope: short and long) list
// them in `all_states()`; their tables are built once, up front.
template <class Policy, class = void>
struct has_all_states : std::false_type {};
template <class Policy>
struct has_all_states<Policy, std::void_t<decltype(std::declval<const Policy&>().all_states())>>
    : std::true_type {};

}  // namespace detail

/// Applies the rotation `Policy` defines, with channel pairing `L`.
///
/// Every member is const and every call may come from any number of threads
/// at once, for every policy. Tables are immutable; a length-dependent
/// policy (`DynamicNtk`, per-call `LongRope`) keeps only its state (for
/// DynamicNtk the sequence length) here, in an atomic: each call advances it
/// from its largest position, exactly as transformers does per forward pass,
/// and rotates with the one table of the state it advanced to. Concurrent
/// calls therefore see transformers' rule applied in some order; to give
/// each sequence its own length, pin a table with `table_for` instead.
template <class Policy, Layout L = Layout::half_split>
class Rope {
 public:
  using policy_type = Policy;
  static constexpr Layout layout = L;
  static constexpr bool length_dependent = is_length_dependent_v<Policy>;

  explicit Rope(const RotaryDims& dims, Policy policy = Policy())
      : dims_(dims), policy_(std::move(policy)) {
    if constexpr (length_dependent) {
      state_.store(policy_.initial_state(), std::memory_order_relaxed);
      tables_.emplace_back(policy_.initial_state(), build(policy_.initial_state()));
      if constexpr (detail::has_all_states<Policy>::value)
        for (const auto state : policy_.all_states())
          if (!(state == policy_.initial_state())) tables_.emplace_back(state, build(state));
    } else {
      table_ = FrequencyTable(dims_, policy_.frequencies(dims_));
    }
  }

  Rope(const Rope& other)
      : dims_(other.dims_), policy_(other.policy_), table_(other.table_), tables_(other.tables_) {
    state_.store(other.state_.load(std::memory_order_acquire), std::memory_order_relaxed);
  }
  Rope& operator=(const Rope& other) {
    dims_ = other.dims_;
    policy_ = other.policy_;
    table_ = other.table_;
    tables_ = other.tables_;
    state_.store(other.state_.load(std::memory_order_acquire), std::memory_order_release);
    return *this;
  }

  const RotaryDims& dims() const noexcept { return dims_; }
  const Policy& policy() const noexcept { return policy_; }
  /// The table the next call uses (for length-dependent policies, the one
  /// of the current state: the last call's, until another call advances it).
  /// Tables are immutable handles, cheap to copy.
  FrequencyTable table() const {
    if constexpr (length_dependent) return table_of(state());
    else return table_;
  }
  std::vector<double> inv_freq() const { return table().inv_freq(); }
  double attention_factor() const { return table().attention_factor(); }

  /// Length-dependent policies: the table the policy gives in `state` (for
  /// `DynamicNtk`, a sequence length), without touching this object. Use it
  /// with `rotate`/`rotate_inverse` to pin one table per sequence or to
  /// re-rotate cached keys from an old table to a new one.
  template <class P = Policy, std::enable_if_t<is_length_dependent_v<P>, int> = 0>
  FrequencyTable table_for(typename P::state_type state) const {
    return table_of(state);
  }

  /// Length-dependent policies: the current state (for `DynamicNtk`, the
  /// sequence length the table was computed for).
  template <class P = Policy, std::enable_if_t<is_length_dependent_v<P>, int> = 0>
  typename P::state_type state() const noexcept {
    return state_.load(std::memory_order_acquire);
  }

  /// Rotates q and k in place (q and k may have different head counts).
  template <class T, class Tag = detail::native_tag>
  void apply(HeadView<T> q, HeadView<T> k, const Positions& positions) const {
    detail::execute<Tag, L>(source(detail::Direction::forward), dims_, {q, k}, {"q", "k"},
                            positions);
  }
  /// Rotates q only.
  template <class T, class Tag = detail::native_tag>
  void apply_q(HeadView<T> q, const Positions& positions) const {
    detail::execute<Tag, L>(source(detail::Direction::forward), dims_, {q}, {"q"}, positions);
  }
  /// Rotates k only (e.g. keys written to a cache).
  template <class T, class Tag = detail::native_tag>
  void apply_k(HeadView<T> k, const Positions& positions) const {
    detail::execute<Tag, L>(source(detail::Direction::forward), dims_, {k}, {"k"}, positions);
  }

  /// Undoes `apply` with the current table (does not advance the state).
  template <class T, class Tag = detail::native_tag>
  void apply_inverse(HeadView<T> q, HeadView<T> k, const Positions& positions) const {
    detail::execute<Tag, L>(source(detail::Direction::inverse), dims_, {q, k}, {"q", "k"},
                            positions);
  }
  template <class T, class Tag = detail::native_tag>
  void apply_inverse(HeadView<T> x, const Positions& positions) const {
    detail::execute<Tag, L>(source(detail::Direction::inverse), dims_, {x}, {"x"}, positions);
  }

  /// The gradient of `apply` with respect to q and k, in place: given
  /// dL/d(rotated q, k), leaves dL/d(q, k). That is the transposed rotation
  /// times the attention factor m (rotation by -angle, times m), which is
  /// not `apply_inverse` (divided by m) unless m = 1. Uses the current table
  /// and does not advance the state: the forward call already moved a
  /// length-dependent policy to the table it rotated with.
  template <class T, class Tag = detail::native_tag>
  void apply_backward(HeadView<T> grad_q, HeadView<T> grad_k, const Positions& positions) const {
    detail::execute<Tag, L>(source(detail::Direction::backward), dims_, {grad_q, grad_k},
                            {"grad_q", "grad_k"}, positions);
  }
  template <class T, class Tag = detail::native_tag>
  void apply_backward(HeadView<T> grad, const Positions& positions) const {
    detail::execute<Tag, L>(source(detail::Direction::backward), dims_, {grad}, {"grad"},
                            positions);
  }

  /// Advances a length-dependent policy's state for a call over `tokens`
  /// tokens at `positions` (validating them) and returns the table to rotate
  /// that call with, for splitting it across an engine's own threads with
  /// `rotate`. Static policies just return their table.
  FrequencyTable prepare(const Positions& positions, std::int64_t tokens) const {
    return table_for_call(positions.validate(tokens));
  }

  /// The angles of a call, for the single execution path (detail).
  struct Source {
    const Rope& rope;
    detail::Direction direction;

    static const char* pairs_name() noexcept { return "table pairs"; }
    std::int64_t pairs() const noexcept { return rope.dims_.pairs(); }
    int axes() const noexcept { return rope.axes(); }
    void check(std::int64_t /*largest*/) const noexcept {}
    template <class Job>
    decltype(auto) bind(std::int64_t largest, Job& job) const {
      if constexpr (length_dependent) {
        FrequencyTable table = direction == detail::Direction::forward
                                   ? rope.table_for_call(largest)
                                   : rope.table_of(rope.state());
        bind_table(table, job);
        return table;
      } else {
        (void)largest;
        bind_table(rope.table_, job);
        return static_cast<const FrequencyTable&>(rope.table_);
      }
    }
    template <class Job>
    void bind_table(const FrequencyTable& table, Job& job) const noexcept {
      job.table = detail::TableAccess::angles(table);
      job.scale = detail::rotation_scale(table.attention_factor(), direction);
    }
  };
  Source source(detail::Direction direction) const noexcept { return Source{*this, direction}; }

 private:
  using state_type = typename detail::policy_state<Policy>::type;

  FrequencyTable build(state_type state) const {
    return FrequencyTable(dims_, policy_.frequencies(dims_, state));
  }

  // Position axes never depend on the state: read them off the first table.
  int axes() const noexcept {
    if constexpr (length_dependent) return tables_.front().second.axes();
    else return table_.axes();
  }

  FrequencyTable table_of(state_type state) const {
    for (const auto& [known, table] : tables_)
      if (known == state) return table;
    return build(state);
  }

  // transformers' per-forward update with seq_len = largest position + 1.
  // The table is built before the state moves, so a throw changes nothing;
  // a concurrent call that moved the state first makes this one re-decide.
  FrequencyTable table_for_call(std::int64_t largest) const {
    if constexpr (length_dependent) {
      state_type current = state_.load(std::memory_order_acquire);
      for (;;) {
        if (largest < 0) return table_of(current);
        const state_type next = policy_.next_state(current, largest + 1);
        FrequencyTable table = table_of(next);
        if (next == current ||
            state_.compare_exchange_weak(current, next, std::memory_order_acq_rel,
                                         std::memory_order_acquire))
          return table;
      }
    } else {
      (void)largest;
      return table_;
    }
  }

  RotaryDims dims_;
  Policy policy_;
  FrequencyTable table_;  // static policies
  // Length-dependent policies: the tables built up front, and the state.
  std::vector<std::pair<state_type, FrequencyTable>> tables_;
  mutable std::atomic<state_type> state_{};
};

namespace detail {

// Calls f(rope, layout) with the concrete Rope<P, L> and its layout as an
// integral constant: the one way entry points outside Rope reach its angles
// (`rope.source(direction)`) for Rope and AnyRope alike.
template <class Policy, Layout L, class F>
decltype(auto) with_rope(const Rope<Policy, L>& rope, F&& f) {
  return f(rope, std::integral_constant<Layout, L>{});
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_ROPE_HPP
