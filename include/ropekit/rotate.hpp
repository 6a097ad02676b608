// SPDX-License-Identifier: Apache-2.0
// Rotation with an explicit angle table: validation, then the kernel call.
// `Rope` builds on these; engines that pin tables per sequence, re-rotate a
// KV cache, or split work across their own threads call them directly.
//
// Every entry point takes a last, defaulted template argument `Tag`: leave it
// alone. It names the calling unit's ISA namespace, so units compiled with
// different -march flags link without sharing flag-dependent code.
#ifndef ROPEKIT_ROTATE_HPP
#define ROPEKIT_ROTATE_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "detail/dispatch.hpp"
#include "detail/reference.hpp"
#include "dims.hpp"
#include "error.hpp"
#include "frequencies.hpp"
#include "isa.hpp"
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

// The views of one call: right head_dim, aligned, same tokens, disjoint.
template <class T, std::size_t N>
void validate_views(const RotaryDims& dims, const HeadView<T> (&views)[N],
                    const char* const (&names)[N]) {
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
}

// Everything a call can reject, checked before anything is written. Returns
// the largest position (-1 when there are no tokens).
template <class T, std::size_t N>
ROPEKIT_NOINLINE std::int64_t validate_call(const FrequencyTable& table, const RotaryDims& dims,
                           const HeadView<T> (&views)[N], const char* const (&names)[N],
                           const Positions& positions) {
  if (table.pairs() != dims.pairs())
    fail("table pairs", table.pairs(),
         "must equal rotary_dim / 2 = " + std::to_string(dims.pairs()));
  validate_views(dims, views, names);
  if (positions.axes() != 1 && positions.axes() != table.axes())
    fail("positions axes", positions.axes(),
         "must be 1 or the policy's " + std::to_string(table.axes()) + " position axes");
  return positions.validate(views[0].tokens());
}

// Validates, then rotates: the single path every public entry point takes,
// so none can write before its checks (the forced-ISA check included).
template <Layout L, class Tag, class T, std::size_t N>
void checked_rotate(const FrequencyTable& table, const RotaryDims& dims,
                    const HeadView<T> (&views)[N], const char* const (&names)[N],
                    const Positions& positions, Direction direction) {
  validate_call(table, dims, views, names, positions);
  const Isa isa = Tag::resolve();
  Tag::template run<L>(isa, table, dims, views, positions, 0, views[0].tokens(), direction);
}

}  // namespace detail

/// Rotates q and k in place with `table`: each token's cos/sin are formed
/// once and used for every q head and every k head. q and k may have
/// different head counts (GQA/MQA) but must have the same tokens.
template <Layout L, class T, class Tag = detail::native_tag>
void rotate(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> q, HeadView<T> k,
            const Positions& positions) {
  detail::checked_rotate<L, Tag>(table, dims, {q, k}, {"q", "k"}, positions,
                                 detail::Direction::forward);
}

/// Rotates one tensor (q only or k only).
template <Layout L, class T, class Tag = detail::native_tag>
void rotate(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> x,
            const Positions& positions) {
  detail::checked_rotate<L, Tag>(table, dims, {x}, {"x"}, positions, detail::Direction::forward);
}

/// Undoes `rotate`: rotation by -angle, divided by the attention factor.
template <Layout L, class T, class Tag = detail::native_tag>
void rotate_inverse(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> q,
                    HeadView<T> k, const Positions& positions) {
  detail::checked_rotate<L, Tag>(table, dims, {q, k}, {"q", "k"}, positions,
                                 detail::Direction::inverse);
}

template <Layout L, class T, class Tag = detail::native_tag>
void rotate_inverse(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> x,
                    const Positions& positions) {
  detail::checked_rotate<L, Tag>(table, dims, {x}, {"x"}, positions, detail::Direction::inverse);
}

/// The path calls from this translation unit take now (forced or detected).
template <class Tag = detail::native_tag>
Isa active_isa() {
  return Tag::resolve();
}

/// Paths compiled into this translation unit that this CPU can run, best
/// last; `force_isa` accepts exactly these.
template <class Tag = detail::native_tag>
std::vector<Isa> available_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::scalar, Isa::neon, Isa::avx2, Isa::avx512})
    if (Tag::usable(isa)) isas.push_back(isa);
  return isas;
}

ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_ROTATE_HPP
