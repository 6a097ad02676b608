// SPDX-License-Identifier: Apache-2.0
// OpenMP convenience: one call split across threads. Engines with their own
// thread pool split instead with HeadView::token_range/head_range,
// Positions::token_range and `rotate` (see README), which is all this does.
// Without OpenMP (no -fopenmp) the calls run on the calling thread.
#ifndef ROPEKIT_PARALLEL_HPP
#define ROPEKIT_PARALLEL_HPP

#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "detail/dispatch.hpp"
#include "dims.hpp"
#include "frequencies.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "rope.hpp"
#include "rotate.hpp"
#include "version.hpp"
#include "view.hpp"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// Splits validated work: token chunks when there are at least as many tokens
// as threads, otherwise chunks of each view's heads (decode).
template <Layout L, class Tag, class T>
void run_parallel(Isa isa, const FrequencyTable& table, const RotaryDims& dims,
                  const HeadView<T> (&views)[2], const Positions& positions, int threads) {
  const std::int64_t tokens = views[0].tokens();
#ifdef _OPENMP
  const int n = threads > 0 ? threads : omp_get_max_threads();
#else
  const int n = 1;
  (void)threads;
#endif
  if (n <= 1 || tokens == 0) {
    Tag::template run<L>(isa, table, dims, views, positions, 0, tokens, Direction::forward);
    return;
  }
  if (tokens >= n) {
#ifdef _OPENMP
#pragma omp parallel for num_threads(n) schedule(static)
#endif
    for (int chunk = 0; chunk < n; ++chunk) {
      const std::int64_t begin = tokens * chunk / n;
      const std::int64_t end = tokens * (chunk + 1) / n;
      Tag::template run<L>(isa, table, dims, views, positions, begin, end, Direction::forward);
    }
    return;
  }
  std::vector<HeadView<T>> parts;
  for (const HeadView<T>& view : views)
    for (int chunk = 0; chunk < n; ++chunk) {
      const std::int64_t begin = view.heads() * chunk / n;
      const std::int64_t end = view.heads() * (chunk + 1) / n;
      if (end > begin) parts.push_back(view.head_range(begin, end - begin));
    }
  const auto count = static_cast<std::int64_t>(parts.size());
#ifdef _OPENMP
#pragma omp parallel for num_threads(n) schedule(static)
#endif
  for (std::int64_t i = 0; i < count; ++i) {
    const HeadView<T> one[1] = {parts[static_cast<std::size_t>(i)]};
    Tag::template run<L>(isa, table, dims, one, positions, 0, tokens, Direction::forward);
  }
}

}  // namespace detail

/// `rotate(table, dims, q, k, positions)` split across `threads` OpenMP
/// threads (0: omp_get_max_threads()). Same results, bit for bit.
template <Layout L, class T, class Tag = detail::native_tag>
void parallel_rotate(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> q,
                     HeadView<T> k, const Positions& positions, int threads = 0) {
  const HeadView<T> views[2] = {q, k};
  const char* const names[2] = {"q", "k"};
  detail::validate_call(table, dims, views, names, positions);
  detail::run_parallel<L, Tag>(Tag::resolve(), table, dims, views, positions, threads);
}

/// `rope.apply(q, k, positions)` split across `threads` OpenMP threads.
template <class Policy, Layout L, class T, class Tag = detail::native_tag>
void parallel_apply(Rope<Policy, L>& rope, HeadView<T> q, HeadView<T> k,
                    const Positions& positions, int threads = 0) {
  const HeadView<T> views[2] = {q, k};
  const char* const names[2] = {"q", "k"};
  detail::validate_call(rope.table(), rope.dims(), views, names, positions);
  const Isa isa = Tag::resolve();
  const FrequencyTable& table = rope.prepare(positions, q.tokens());
  detail::run_parallel<L, Tag>(isa, table, rope.dims(), views, positions, threads);
}

ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_PARALLEL_HPP
