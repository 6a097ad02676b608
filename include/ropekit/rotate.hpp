// SPDX-License-Identifier: Apache-2.0
// Rotation with an explicit angle table: validation and the kernel call.
// `Rope` builds on these; engines that pin tables per sequence or split work
// across their own threads call them directly.
#ifndef ROPEKIT_ROTATE_HPP
#define ROPEKIT_ROTATE_HPP

#include <cstdint>
#include <string>

#include "detail/reference.hpp"
#include "dims.hpp"
#include "error.hpp"
#include "frequencies.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "version.hpp"
#include "view.hpp"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

template <class T>
void check_view(const HeadView<T>& view, const RotaryDims& dims, const char* name) {
  if (view.head_dim() != dims.head_dim())
    fail((std::string(name) + ".head_dim").c_str(), view.head_dim(),
         "must equal the rotation's head_dim = " + std::to_string(dims.head_dim()));
  if (reinterpret_cast<std::uintptr_t>(view.data()) % alignof(T) != 0)
    fail((std::string(name) + ".data").c_str(), static_cast<const void*>(view.data()),
         "is not aligned for its element type");
}

// Everything a call can reject, checked before anything is written. Returns
// the largest position (-1 when there are no tokens).
template <class T, std::size_t N>
std::int64_t validate_call(const FrequencyTable& table, const RotaryDims& dims,
                           const HeadView<T> (&views)[N], const char* const (&names)[N],
                           const Positions& positions) {
  if (table.pairs() != dims.pairs())
    fail("table pairs", table.pairs(),
         "must equal rotary_dim / 2 = " + std::to_string(dims.pairs()));
  for (std::size_t i = 0; i < N; ++i) check_view(views[i], dims, names[i]);
  for (std::size_t i = 1; i < N; ++i) {
    if (views[i].tokens() != views[0].tokens())
      fail((std::string(names[i]) + ".tokens").c_str(), views[i].tokens(),
           std::string("must equal ") + names[0] + ".tokens = " +
               std::to_string(views[0].tokens()));
    if (views_may_overlap(views[0], views[i]))
      fail(names[i], static_cast<const void*>(views[i].data()),
           std::string("overlaps ") + names[0] + " (rotating shared elements twice)");
  }
  if (positions.axes() != 1 && positions.axes() != table.axes())
    fail("positions axes", positions.axes(),
         "must be 1 or the policy's " + std::to_string(table.axes()) + " position axes");
  return positions.validate(views[0].tokens());
}

// Validates, then rotates. The single place every public entry point funnels
// through, so no path can write before its checks.
template <Layout L, class T, std::size_t N>
void unchecked_rotate(const FrequencyTable& table, const RotaryDims& dims,
                      const HeadView<T> (&views)[N], const Positions& positions,
                      Direction direction) {
  reference::apply<L>(table, dims, views, positions, 0, views[0].tokens(), direction);
}

template <Layout L, class T, std::size_t N>
void checked_rotate(const FrequencyTable& table, const RotaryDims& dims,
                    const HeadView<T> (&views)[N], const char* const (&names)[N],
                    const Positions& positions, Direction direction) {
  validate_call(table, dims, views, names, positions);
  unchecked_rotate<L>(table, dims, views, positions, direction);
}

}  // namespace detail

/// Rotates q and k in place with `table`: each token's cos/sin are formed
/// once and used for every q head and every k head. q and k may have
/// different head counts (GQA/MQA) but must have the same tokens.
template <Layout L, class T>
void rotate(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> q, HeadView<T> k,
            const Positions& positions) {
  detail::checked_rotate<L>(table, dims, {q, k}, {"q", "k"}, positions,
                            detail::Direction::forward);
}

/// Rotates one tensor (q only or k only).
template <Layout L, class T>
void rotate(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> x,
            const Positions& positions) {
  detail::checked_rotate<L>(table, dims, {x}, {"x"}, positions, detail::Direction::forward);
}

/// Undoes `rotate`: rotation by -angle, divided by the attention factor.
template <Layout L, class T>
void rotate_inverse(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> q,
                    HeadView<T> k, const Positions& positions) {
  detail::checked_rotate<L>(table, dims, {q, k}, {"q", "k"}, positions,
                            detail::Direction::inverse);
}

template <Layout L, class T>
void rotate_inverse(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> x,
                    const Positions& positions) {
  detail::checked_rotate<L>(table, dims, {x}, {"x"}, positions, detail::Direction::inverse);
}

ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_ROTATE_HPP
