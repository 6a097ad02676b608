// SPDX-License-Identifier: Apache-2.0
// OpenMP convenience: one call split across threads, through the same path
// as every other call (token chunks, or head chunks when there are fewer
// tokens than threads; the same bits as one thread). Engines with their own
// thread pool split instead with HeadView::token_range/head_range,
// Positions::token_range, `Rope::prepare` and `rotate` (see README).
// Without OpenMP (no -fopenmp) the calls run on the calling thread.
#ifndef ROPEKIT_PARALLEL_HPP
#define ROPEKIT_PARALLEL_HPP

#include <type_traits>

#include "any_rope.hpp"
#include "detail/execute.hpp"
#include "dims.hpp"
#include "frequencies.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "rope.hpp"
#include "version.hpp"
#include "view.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// `rotate(table, dims, q, k, positions)` split across `threads` OpenMP
/// threads (0: omp_get_max_threads()).
template <Layout L, class T, class Tag = detail::native_tag>
void parallel_rotate(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> q,
                     HeadView<T> k, const Positions& positions, int threads = 0) {
  detail::execute<Tag, L>(detail::TableSource{table, detail::Direction::forward}, dims, {q, k},
                          {"q", "k"}, positions, threads);
}

/// `rotate(table, dims, x, positions)` split across threads.
template <Layout L, class T, class Tag = detail::native_tag>
void parallel_rotate(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> x,
                     const Positions& positions, int threads = 0) {
  detail::execute<Tag, L>(detail::TableSource{table, detail::Direction::forward}, dims, {x},
                          {"x"}, positions, threads);
}

/// `rope.apply(q, k, positions)` split across `threads` OpenMP threads.
template <class Policy, Layout L, class T, class Tag = detail::native_tag>
void parallel_apply(const Rope<Policy, L>& rope, HeadView<T> q, HeadView<T> k,
                    const Positions& positions, int threads = 0) {
  detail::execute<Tag, L>(rope.source(detail::Direction::forward), rope.dims(), {q, k},
                          {"q", "k"}, positions, threads);
}

/// `rope.apply_q(x, positions)` (or apply_k) split across threads.
template <class Policy, Layout L, class T, class Tag = detail::native_tag>
void parallel_apply(const Rope<Policy, L>& rope, HeadView<T> x, const Positions& positions,
                    int threads = 0) {
  detail::execute<Tag, L>(rope.source(detail::Direction::forward), rope.dims(), {x}, {"x"},
                          positions, threads);
}

/// `any.apply(q, k, positions)` split across threads.
template <class T, class Tag = detail::native_tag>
void parallel_apply(const AnyRope& any, HeadView<T> q, HeadView<T> k, const Positions& positions,
                    int threads = 0) {
  any.visit([&](const auto& rope) {
    using R = std::decay_t<decltype(rope)>;
    parallel_apply<typename R::policy_type, R::layout, T, Tag>(rope, q, k, positions, threads);
  });
}

/// `any.apply_q(x, positions)` (or apply_k) split across threads.
template <class T, class Tag = detail::native_tag>
void parallel_apply(const AnyRope& any, HeadView<T> x, const Positions& positions,
                    int threads = 0) {
  any.visit([&](const auto& rope) {
    using R = std::decay_t<decltype(rope)>;
    parallel_apply<typename R::policy_type, R::layout, T, Tag>(rope, x, positions, threads);
  });
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_PARALLEL_HPP
