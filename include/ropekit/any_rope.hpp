// SPDX-License-Identifier: Apache-2.0
// AnyRope: the runtime counterpart of Rope<Policy, Layout>, for engines that
// learn the model (its scaling variant and channel layout) only when they
// load its config. It holds one concrete Rope<P, L> in a std::variant and
// dispatches once per call with std::visit, so the kernel that runs is the
// very instantiation Rope<P, L> runs (bit-for-bit the same results), with no
// virtual call or branch per element.
#ifndef ROPEKIT_ANY_ROPE_HPP
#define ROPEKIT_ANY_ROPE_HPP

#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "dims.hpp"
#include "error.hpp"
#include "frequencies.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "rope.hpp"
#include "scaling/all.hpp"
#include "version.hpp"
#include "view.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

namespace detail {

// std::variant<Rope<P, half_split>..., Rope<P, interleaved>...> for the
// policies of AnyPolicy: one alternative per (policy, layout) instantiation.
template <class Variant>
struct any_rope_variant;
template <class... Policies>
struct any_rope_variant<std::variant<Policies...>> {
  using type =
      std::variant<Rope<Policies, Layout::half_split>..., Rope<Policies, Layout::interleaved>...>;
};

// What a policy reports about itself, for descriptions: its base and its
// scaling factor, looked through M-RoPE's `inner()`.
template <class P, class = void>
struct has_inner : std::false_type {};
template <class P>
struct has_inner<P, std::void_t<decltype(std::declval<const P&>().inner())>> : std::true_type {};
template <class P, class = void>
struct has_base : std::false_type {};
template <class P>
struct has_base<P, std::void_t<decltype(std::declval<const P&>().base())>> : std::true_type {};
template <class P, class = void>
struct has_factor : std::false_type {};
template <class P>
struct has_factor<P, std::void_t<decltype(std::declval<const P&>().factor())>> : std::true_type {};

template <class P>
double policy_base(const P& policy) {
  if constexpr (has_inner<P>::value) {
    return policy_base(policy.inner());
  } else if constexpr (has_base<P>::value) {
    return policy.base();
  } else {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

template <class P>
std::optional<double> policy_factor(const P& policy) {
  if constexpr (has_inner<P>::value) {
    return policy_factor(policy.inner());
  } else if constexpr (has_factor<P>::value) {
    return static_cast<double>(policy.factor());
  } else {
    return std::nullopt;
  }
}

template <class P, class Variant>
struct is_any_policy_alternative;
template <class P, class... Policies>
struct is_any_policy_alternative<P, std::variant<Policies...>>
    : std::bool_constant<(std::is_same_v<P, Policies> || ...)> {};

}  // namespace detail

/// `Rope<P, L>` with P and L chosen at run time.
///
/// Each member visits the held `Rope<P, L>` once and calls the same member
/// on it, so results, validation and error messages are exactly those of the
/// compile-time object; for length-dependent policies (`DynamicNtk`,
/// per-call `LongRope`) the held object keeps its state between calls just
/// as `Rope` does. The dispatch is one indirect jump per call, independent of
/// tokens and heads. For the rare engine that wants its own loop around the
/// concrete type, `visit` hands out the `Rope<P, L>` itself.
///
/// Threading is `Rope`'s: every member is const, and any number of threads
/// may apply one AnyRope at once, whatever the policy.
class AnyRope {
 public:
  using rope_variant = typename detail::any_rope_variant<AnyPolicy>::type;

  /// Builds the `Rope<P, layout>` for the policy `policy` holds. Throws
  /// std::invalid_argument as `Rope`'s constructor does (for example a
  /// LongRoPE factor list or M-RoPE sections that do not fit `dims`), or
  /// for a `layout` that is neither half_split nor interleaved.
  AnyRope(const RotaryDims& dims, Layout layout, AnyPolicy policy)
      : ropes_(make(dims, layout, std::move(policy))) {}

  /// Wraps an existing compile-time `Rope<P, L>` (its state included).
  template <class P, Layout L>
  explicit AnyRope(Rope<P, L> rope) : ropes_(std::move(rope)) {
    static_assert(detail::is_any_policy_alternative<P, AnyPolicy>::value,
                  "ropekit: AnyRope holds only the policies listed in AnyPolicy");
  }

  // --- description -------------------------------------------------------

  /// The policy's name: "default", "fixed_base", "linear", "ntk_aware",
  /// "dynamic", "yarn", "llama3", "longrope", "mrope", "proportional" or
  /// "vision_2d".
  const char* policy_name() const {
    return std::visit(
        [](const auto& rope) -> const char* {
          return std::decay_t<decltype(rope)>::policy_type::name;
        },
        ropes_);
  }
  Layout layout() const {
    return std::visit([](const auto& rope) { return std::decay_t<decltype(rope)>::layout; },
                      ropes_);
  }
  const RotaryDims& dims() const {
    return std::visit([](const auto& rope) -> const RotaryDims& { return rope.dims(); }, ropes_);
  }
  /// A copy of the policy, as the variant AnyRope was built from.
  AnyPolicy policy() const {
    return std::visit([](const auto& rope) { return AnyPolicy(rope.policy()); }, ropes_);
  }
  /// The policy if it is a `P`, else nullptr.
  template <class P>
  const P* policy_if() const noexcept {
    if (const auto* rope = std::get_if<Rope<P, Layout::half_split>>(&ropes_))
      return &rope->policy();
    if (const auto* rope = std::get_if<Rope<P, Layout::interleaved>>(&ropes_))
      return &rope->policy();
    return nullptr;
  }
  /// The base (`rope_theta`) the policy was built from (for M-RoPE, its
  /// inner policy's; NaN for a policy without one).
  double base() const {
    return std::visit([](const auto& rope) { return detail::policy_base(rope.policy()); }, ropes_);
  }
  /// The policy's scaling factor (linear, NTK, dynamic NTK, YaRN, Llama 3,
  /// LongRoPE; for M-RoPE its inner policy's), or nullopt for policies
  /// without one (`Default`, `FixedBase`).
  std::optional<double> factor() const {
    return std::visit([](const auto& rope) { return detail::policy_factor(rope.policy()); },
                      ropes_);
  }
  /// True for policies whose table follows the sequence length (`DynamicNtk`,
  /// `LongRope`): `apply` may then change `table()`.
  bool length_dependent() const {
    return std::visit(
        [](const auto& rope) { return std::decay_t<decltype(rope)>::length_dependent; }, ropes_);
  }

  // --- tables --------------------------------------------------------------

  /// The table the next call uses (see `Rope::table`).
  FrequencyTable table() const {
    return std::visit([](const auto& rope) { return rope.table(); }, ropes_);
  }
  std::vector<double> inv_freq() const { return table().inv_freq(); }
  double attention_factor() const { return table().attention_factor(); }

  /// The table a fresh object would use for a call whose largest position is
  /// `seq_len - 1`: for `DynamicNtk` the base grown to `seq_len`, for per-call
  /// `LongRope` the long factors iff `seq_len` exceeds the original length;
  /// for static policies `table()`. Does not touch this object's state. Use
  /// it to report or to pin one table per sequence (`rotate<L>(table, ...)`).
  FrequencyTable table_for_length(std::int64_t seq_len) const {
    detail::require(seq_len > 0, "seq_len", seq_len, "must be positive");
    return std::visit(
        [seq_len](const auto& rope) -> FrequencyTable {
          using R = std::decay_t<decltype(rope)>;
          if constexpr (R::length_dependent) {
            const auto& policy = rope.policy();
            return rope.table_for(policy.next_state(policy.initial_state(), seq_len));
          } else {
            (void)seq_len;
            return rope.table();
          }
        },
        ropes_);
  }

  // --- rotation ------------------------------------------------------------

  /// Rotates q and k in place (see `Rope::apply`).
  template <class T, class Tag = detail::native_tag>
  void apply(HeadView<T> q, HeadView<T> k, const Positions& positions) const {
    std::visit([&](const auto& rope) { rope.template apply<T, Tag>(q, k, positions); }, ropes_);
  }
  /// Rotates q only.
  template <class T, class Tag = detail::native_tag>
  void apply_q(HeadView<T> q, const Positions& positions) const {
    std::visit([&](const auto& rope) { rope.template apply_q<T, Tag>(q, positions); }, ropes_);
  }
  /// Rotates k only.
  template <class T, class Tag = detail::native_tag>
  void apply_k(HeadView<T> k, const Positions& positions) const {
    std::visit([&](const auto& rope) { rope.template apply_k<T, Tag>(k, positions); }, ropes_);
  }
  /// Undoes `apply` with the current table.
  template <class T, class Tag = detail::native_tag>
  void apply_inverse(HeadView<T> q, HeadView<T> k, const Positions& positions) const {
    std::visit([&](const auto& rope) { rope.template apply_inverse<T, Tag>(q, k, positions); }, ropes_);
  }
  template <class T, class Tag = detail::native_tag>
  void apply_inverse(HeadView<T> x, const Positions& positions) const {
    std::visit([&](const auto& rope) { rope.template apply_inverse<T, Tag>(x, positions); }, ropes_);
  }

  /// The gradient of `apply` (see `Rope::apply_backward`).
  template <class T, class Tag = detail::native_tag>
  void apply_backward(HeadView<T> grad_q, HeadView<T> grad_k, const Positions& positions) const {
    std::visit([&](const auto& rope) { rope.template apply_backward<T, Tag>(grad_q, grad_k, positions); },
               ropes_);
  }
  template <class T, class Tag = detail::native_tag>
  void apply_backward(HeadView<T> grad, const Positions& positions) const {
    std::visit([&](const auto& rope) { rope.template apply_backward<T, Tag>(grad, positions); }, ropes_);
  }

  /// Calls `f(rope)` with the held `Rope<P, L>&` (one dispatch), for engines
  /// that run their own loop over the concrete type or need `state()`.
  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), ropes_);
  }
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit(std::forward<F>(f), ropes_);
  }

  /// The variant itself (for `std::get_if<Rope<P, L>>`).
  const rope_variant& variant() const noexcept { return ropes_; }

 private:
  static rope_variant make(const RotaryDims& dims, Layout layout, AnyPolicy policy) {
    const int as_int = static_cast<int>(layout);
    detail::require(layout == Layout::half_split || layout == Layout::interleaved, "layout", as_int,
                    "must be half_split or interleaved");
    return std::visit(
        [&](auto&& p) -> rope_variant {
          using P = std::decay_t<decltype(p)>;
          if (layout == Layout::half_split)
            return rope_variant(std::in_place_type<Rope<P, Layout::half_split>>, dims,
                                std::move(p));
          return rope_variant(std::in_place_type<Rope<P, Layout::interleaved>>, dims, std::move(p));
        },
        std::move(policy));
  }

  rope_variant ropes_;
};

namespace detail {

template <class F>
decltype(auto) with_rope(const AnyRope& any, F&& f) {
  return any.visit([&](const auto& rope) -> decltype(auto) { return with_rope(rope, f); });
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_ANY_ROPE_HPP
