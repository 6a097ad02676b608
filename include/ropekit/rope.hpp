// SPDX-License-Identifier: Apache-2.0
// Rope<Policy, Layout>: the object an engine keeps per model. It holds the
// angle tables its policy produces and, for length-dependent policies, the
// state of transformers' update rule.
#ifndef ROPEKIT_ROPE_HPP
#define ROPEKIT_ROPE_HPP

#include <atomic>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/atomic_cell.hpp"
#include "detail/execute.hpp"
#include "detail/step_table.hpp"
#include "dims.hpp"
#include "frequencies.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "version.hpp"
#include "view.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// Length-dependent policies with few states (LongRope: short and long) list
// them in `all_states()`; their tables are built once, up front. Policies
// whose tables are a geometric correction of the first state's
// (`geometric_step`, DynamicNtk) get them built in the call.
template <class Policy, class = void>
struct has_all_states : std::false_type {};
template <class Policy>
struct has_all_states<Policy, std::void_t<decltype(std::declval<const Policy&>().all_states())>>
    : std::true_type {};

template <class Policy, class = void>
struct has_geometric_step : std::false_type {};
template <class Policy>
struct has_geometric_step<Policy, std::void_t<decltype(std::declval<const Policy&>().geometric_step(
                                      std::declval<const RotaryDims&>(), 0))>>
    : std::true_type {};

// One counter for every Rope<P, L>: the step table slot is shared by all
// instantiations, so ids must not repeat across them.
inline std::uint64_t next_rope_id() noexcept {
  static AtomicCell<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

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
  using state_type = typename detail::policy_state<Policy>::type;

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
      : dims_(other.dims_),
        policy_(other.policy_),
        table_(other.table_),
        tables_(other.tables_),
        id_(next_id()) {
    state_.store(other.state_.load(std::memory_order_acquire), std::memory_order_relaxed);
  }
  Rope& operator=(const Rope& other) {
    dims_ = other.dims_;
    policy_ = other.policy_;
    table_ = other.table_;
    tables_ = other.tables_;
    state_.store(other.state_.load(std::memory_order_acquire), std::memory_order_release);
    id_ = next_id();  // new dims or policy: a step table built for the old ones must not match
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

    // Binds the table of the state this call uses (a forward call first
    // advances the state; see settle). Returns what keeps a freshly built
    // table alive.
    template <class Tag, class Job>
    std::optional<FrequencyTable> bind(std::int64_t largest, Job& job, Isa isa) const {
      if constexpr (!length_dependent) {
        (void)largest;
        (void)isa;
        bind_table(rope.table_, job);
        return std::nullopt;
      } else {
        return rope.settle(largest, direction == detail::Direction::forward, [&](state_type next) {
          std::optional<FrequencyTable> built;
          if (const FrequencyTable* known = rope.known_table(next)) {
            bind_table(*known, job);
          } else if (rope.steps_fast(detail::job_kernel_is_simd(job, isa))) {
            if constexpr (detail::has_geometric_step<Policy>::value) bind_step<Tag>(next, job, isa);
          } else {
            built = rope.build(next);
            bind_table(*built, job);
          }
          return built;
        });
      }
    }

    template <class Job>
    void bind_table(const FrequencyTable& table, Job& job) const noexcept {
      job.table = detail::TableAccess::angles(table);
      job.scale = detail::rotation_scale(table.attention_factor(), direction);
    }

    // A decode step's table from the policy's geometric form (see
    // DynamicNtk::geometric_step), built by the SIMD path in a few dozen
    // vector operations and kept per thread, so the layers of one step
    // (same state) build it once; a decode loop's next state builds the
    // next kStepBatch (step_table.hpp). Only SIMD kernels read it (they need
    // the quarter turns alone); the scalar reference builds from the
    // definition.
    template <class Tag, class Job>
    void bind_step(state_type state, Job& job, Isa isa) const {
      detail::StepTable& slot = detail::step_table_slot();
      const auto wanted = static_cast<std::int64_t>(state);
      const detail::AngleTable base = detail::TableAccess::angles(rope.tables_.front().second);
      if (!slot.holds(rope.id_, wanted)) {
        const bool next_in_order = slot.owner == rope.id_ && wanted == slot.first + slot.count;
        const int count = next_in_order ? detail::kStepBatch : 1;
        detail::StepRoot roots[detail::kStepBatch];
        const std::int64_t k = detail::step_roots(rope.policy_, rope.dims_, wanted, count, roots);
        Tag::template with_kernel<float>(isa, [&](auto kernel) {
          decltype(kernel)::geometric_quarters(
              base.quarters_head, base.quarters_tail, rope.dims_.pairs(), roots, count, k,
              slot.quarters_head, slot.quarters_tail, detail::StepTable::kStride);
        });
        slot.owner = rope.id_;
        slot.first = wanted;
        slot.count = count;
        slot.attention_factor = base.attention_factor;
      }
      // Same pairs and shape as the first state's table.
      const std::int64_t at = (wanted - slot.first) * detail::StepTable::kStride;
      job.table = detail::AngleTable{slot.quarters_head + at,
                                     slot.quarters_tail + at,
                                     nullptr,
                                     nullptr,
                                     nullptr,
                                     slot.axis,
                                     1,
                                     slot.attention_factor,
                                     base.shape};
      job.scale = detail::rotation_scale(slot.attention_factor, direction);
    }
  };
  Source source(detail::Direction direction) const noexcept { return Source{*this, direction}; }

 private:
  FrequencyTable build(state_type state) const {
    return FrequencyTable(dims_, policy_.frequencies(dims_, state));
  }

  // Position axes never depend on the state: read them off the first table.
  int axes() const noexcept {
    if constexpr (length_dependent) return tables_.front().second.axes();
    else return table_.axes();
  }

  const FrequencyTable* known_table(state_type state) const noexcept {
    for (const auto& [known, table] : tables_)
      if (known == state) return &table;
    return nullptr;
  }

  FrequencyTable table_of(state_type state) const {
    const FrequencyTable* known = known_table(state);
    return known != nullptr ? *known : build(state);
  }

  // Whether a state's table can be built in the call (policy with a
  // geometric form, heads within one pair block, a SIMD kernel).
  bool steps_fast(bool simd_kernel) const noexcept {
    if constexpr (detail::has_geometric_step<Policy>::value)
      return simd_kernel && dims_.pairs() <= detail::kPairBlock;
    else
      return (void)simd_kernel, false;
  }

  // transformers' per-forward update, seq_len = largest position + 1 (with
  // `advance`; otherwise the current state): calls bind(state) for the state
  // the call uses before the state moves, so a throw changes nothing, and
  // decides again if a concurrent call moved the state first.
  template <class Bind>
  auto settle(std::int64_t largest, bool advance, Bind&& bind) const {
    state_type current = state_.load(std::memory_order_acquire);
    for (;;) {
      const state_type next =
          advance && largest >= 0 ? policy_.next_state(current, largest + 1) : current;
      auto bound = bind(next);
      if (next == current ||
          state_.compare_exchange(current, next, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
        return bound;
    }
  }

  // The table a forward call whose largest position is `largest` uses, with
  // the state advanced (for `prepare`).
  FrequencyTable table_for_call(std::int64_t largest) const {
    if constexpr (length_dependent) {
      return settle(largest, true, [&](state_type next) { return table_of(next); });
    } else {
      (void)largest;
      return table_;
    }
  }

  static std::uint64_t next_id() noexcept { return detail::next_rope_id(); }

  RotaryDims dims_;
  Policy policy_;
  FrequencyTable table_;  // static policies
  // Length-dependent policies: the tables built up front, and the state.
  std::vector<std::pair<state_type, FrequencyTable>> tables_;
  mutable detail::AtomicCell<state_type> state_{};
  std::uint64_t id_ = next_id();  // per instance, keys the per-thread step table
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

#include "detail/macros_end.inl"

#endif  // ROPEKIT_ROPE_HPP
