// SPDX-License-Identifier: Apache-2.0
// Rotation with an explicit angle table, the layout fixed at compile time or
// chosen at run time. `Rope` builds on the same path; engines that pin tables
// per sequence, re-rotate a KV cache, or split work across their own threads
// call these directly.
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
#include "detail/execute.hpp"
#include "dims.hpp"
#include "error.hpp"
#include "frequencies.hpp"
#include "isa.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "version.hpp"
#include "view.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// Rotates q and k in place with `table`: each token's cos/sin are formed
/// once and used for every q head and every k head. q and k may have
/// different head counts (GQA/MQA) but must have the same tokens.
template <Layout L, class T, class Tag = detail::native_tag>
void rotate(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> q, HeadView<T> k,
            const Positions& positions) {
  detail::execute<Tag, L>(detail::TableSource{table, detail::Direction::forward}, dims, {q, k},
                          {"q", "k"}, positions);
}

/// Rotates one tensor (q only or k only).
template <Layout L, class T, class Tag = detail::native_tag>
void rotate(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> x,
            const Positions& positions) {
  detail::execute<Tag, L>(detail::TableSource{table, detail::Direction::forward}, dims, {x},
                          {"x"}, positions);
}

/// Undoes `rotate`: rotation by -angle, divided by the attention factor.
template <Layout L, class T, class Tag = detail::native_tag>
void rotate_inverse(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> q,
                    HeadView<T> k, const Positions& positions) {
  detail::execute<Tag, L>(detail::TableSource{table, detail::Direction::inverse}, dims, {q, k},
                          {"q", "k"}, positions);
}

template <Layout L, class T, class Tag = detail::native_tag>
void rotate_inverse(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> x,
                    const Positions& positions) {
  detail::execute<Tag, L>(detail::TableSource{table, detail::Direction::inverse}, dims, {x},
                          {"x"}, positions);
}

/// The same with the layout chosen at run time, as engines configure it when
/// they load a model.
template <class T, class Tag = detail::native_tag>
void rotate(const FrequencyTable& table, const RotaryDims& dims, Layout layout, HeadView<T> q,
            HeadView<T> k, const Positions& positions) {
  detail::execute<Tag>(detail::TableSource{table, detail::Direction::forward}, dims, layout,
                       {q, k}, {"q", "k"}, positions);
}

template <class T, class Tag = detail::native_tag>
void rotate(const FrequencyTable& table, const RotaryDims& dims, Layout layout, HeadView<T> x,
            const Positions& positions) {
  detail::execute<Tag>(detail::TableSource{table, detail::Direction::forward}, dims, layout, {x},
                       {"x"}, positions);
}

template <class T, class Tag = detail::native_tag>
void rotate_inverse(const FrequencyTable& table, const RotaryDims& dims, Layout layout,
                    HeadView<T> q, HeadView<T> k, const Positions& positions) {
  detail::execute<Tag>(detail::TableSource{table, detail::Direction::inverse}, dims, layout,
                       {q, k}, {"q", "k"}, positions);
}

template <class T, class Tag = detail::native_tag>
void rotate_inverse(const FrequencyTable& table, const RotaryDims& dims, Layout layout,
                    HeadView<T> x, const Positions& positions) {
  detail::execute<Tag>(detail::TableSource{table, detail::Direction::inverse}, dims, layout, {x},
                       {"x"}, positions);
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
  for (Isa isa : {Isa::scalar, Isa::neon, Isa::avx2, Isa::avx512, Isa::avx512_bf16})
    if (Tag::usable(isa)) isas.push_back(isa);
  return isas;
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_ROTATE_HPP
