// SPDX-License-Identifier: Apache-2.0
// The backward pass of the rotation with an explicit table, for training and
// fine-tuning loops that pin tables or split calls across their own threads
// (`Rope::apply_backward` / `AnyRope::apply_backward` are the same with the
// object's table).
//
// RoPE maps each pair (a, b) to m * R(angle) (a, b), linear in the input, so
// its gradient is the transpose: m * R(-angle) applied to the incoming
// gradient; channels that do not rotate pass it through unchanged.
#ifndef ROPEKIT_BACKWARD_HPP
#define ROPEKIT_BACKWARD_HPP

#include "detail/dispatch.hpp"
#include "detail/execute.hpp"
#include "dims.hpp"
#include "frequencies.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "version.hpp"
#include "view.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// The gradient of `rotate<L>(table, dims, q, k, positions)`, in place:
/// grad_q and grad_k hold dL/d(rotated q, k) and receive dL/d(q, k).
template <Layout L, class T, class Tag = detail::native_tag>
void rotate_backward(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> grad_q,
                     HeadView<T> grad_k, const Positions& positions) {
  detail::execute<Tag, L>(detail::TableSource{table, detail::Direction::backward}, dims,
                          {grad_q, grad_k}, {"grad_q", "grad_k"}, positions);
}

/// One tensor.
template <Layout L, class T, class Tag = detail::native_tag>
void rotate_backward(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> grad,
                     const Positions& positions) {
  detail::execute<Tag, L>(detail::TableSource{table, detail::Direction::backward}, dims, {grad},
                          {"grad"}, positions);
}

/// The same with the layout chosen at run time.
template <class T, class Tag = detail::native_tag>
void rotate_backward(const FrequencyTable& table, const RotaryDims& dims, Layout layout,
                     HeadView<T> grad_q, HeadView<T> grad_k, const Positions& positions) {
  detail::execute<Tag>(detail::TableSource{table, detail::Direction::backward}, dims, layout,
                       {grad_q, grad_k}, {"grad_q", "grad_k"}, positions);
}

template <class T, class Tag = detail::native_tag>
void rotate_backward(const FrequencyTable& table, const RotaryDims& dims, Layout layout,
                     HeadView<T> grad, const Positions& positions) {
  detail::execute<Tag>(detail::TableSource{table, detail::Direction::backward}, dims, layout,
                       {grad}, {"grad"}, positions);
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_BACKWARD_HPP
