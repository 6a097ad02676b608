// SPDX-License-Identifier: Apache-2.0
// The one path every rotation takes: validate the call, resolve the kernel
// path, bind the angles (a table, possibly advancing a length-dependent
// policy's state, or precomputed cos/sin rows), then run the kernel over the
// tokens, on one thread or split across OpenMP threads. Nothing is written
// before every check has passed.
#ifndef ROPEKIT_DETAIL_EXECUTE_HPP
#define ROPEKIT_DETAIL_EXECUTE_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../isa.hpp"
#include "../layout.hpp"
#include "../positions.hpp"
#include "../version.hpp"
#include "../view.hpp"
#include "dispatch.hpp"
#include "job.hpp"

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

// Everything a call can reject, given the pairs and position axes of its
// angles. Returns the largest position (-1 when there are no tokens).
template <class T, std::size_t N>
ROPEKIT_NOINLINE std::int64_t validate_call(std::int64_t pairs, int axes, const RotaryDims& dims,
                                            const HeadView<T> (&views)[N],
                                            const char* const (&names)[N],
                                            const Positions& positions) {
  if (pairs != dims.pairs())
    fail("table pairs", pairs, "must equal rotary_dim / 2 = " + std::to_string(dims.pairs()));
  validate_views(dims, views, names);
  if (positions.axes() != 1 && positions.axes() != axes)
    fail("positions axes", positions.axes(),
         "must be 1 or the policy's " + std::to_string(axes) + " position axes");
  return positions.validate(views[0].tokens());
}

// Angles from a FrequencyTable, in either direction.
struct TableSource {
  const FrequencyTable& table;
  Direction direction;

  std::int64_t pairs() const noexcept { return table.pairs(); }
  int axes() const noexcept { return table.axes(); }
  void check(std::int64_t /*largest*/) const noexcept {}
  template <class Job>
  const FrequencyTable& bind(std::int64_t /*largest*/, Job& job) const noexcept {
    job.table = TableAccess::angles(table);
    job.scale = rotation_scale(table.attention_factor(), direction);
    return table;
  }
};

// Tokens [begin, end) of a job on path `isa`.
template <Layout L, class Tag, class T, std::size_t N>
void run_range(Isa isa, const Job<T, N>& job, std::int64_t begin, std::int64_t end) {
  Tag::template with_kernel<T>(
      isa, [&](auto kernel) { decltype(kernel)::template run<L>(job, begin, end); });
}

// Heads [h * heads / parts, (h + 1) * heads / parts) of each view.
template <class T, std::size_t N>
struct HeadPart {
  HeadView<T> views[N];
};
template <class T, std::size_t N, std::size_t... I>
HeadPart<T, N> head_part(const HeadView<T> (&views)[N], std::int64_t part, std::int64_t parts,
                         std::index_sequence<I...>) {
  const auto range = [&](const HeadView<T>& view) {
    const std::int64_t begin = view.heads() * part / parts;
    return view.head_range(begin, view.heads() * (part + 1) / parts - begin);
  };
  return HeadPart<T, N>{{range(views[I])...}};
}

// A validated job over all its tokens, on `threads` OpenMP threads (0: all
// of omp_get_max_threads(); without OpenMP the calling thread): chunks of
// tokens when there are at least as many tokens as threads, otherwise
// chunks of every view's heads (decode). Same bits as one thread.
template <Layout L, class Tag, class T, std::size_t N>
void run_job(Isa isa, const Job<T, N>& job, int threads) {
  const std::int64_t tokens = (*job.views)[0].tokens();
#ifdef _OPENMP
  const int n = threads > 0 ? threads : omp_get_max_threads();
#else
  const int n = 1;
  (void)threads;
#endif
  if (n <= 1 || tokens == 0) {
    run_range<L, Tag>(isa, job, 0, tokens);
    return;
  }
#ifdef _OPENMP
  if (tokens >= n) {
#pragma omp parallel for num_threads(n) schedule(static)
    for (int chunk = 0; chunk < n; ++chunk)
      run_range<L, Tag>(isa, job, tokens * chunk / n, tokens * (chunk + 1) / n);
    return;
  }
#pragma omp parallel for num_threads(n) schedule(static)
  for (int chunk = 0; chunk < n; ++chunk) {
    const HeadPart<T, N> part = head_part(*job.views, chunk, n, std::make_index_sequence<N>{});
    Job<T, N> part_job = job;
    part_job.views = &part.views;
    run_range<L, Tag>(isa, part_job, 0, tokens);
  }
#endif
}

// The entry: validates the call against the source's angles, resolves the
// path, binds the angles (the source may advance a length-dependent state
// only now, when nothing can fail any more) and rotates.
template <class Tag, Layout L, class T, std::size_t N, class Source>
void execute(const Source& source, const RotaryDims& dims, const HeadView<T> (&views)[N],
             const char* const (&names)[N], const Positions& positions, int threads = 1) {
  const std::int64_t largest =
      validate_call(source.pairs(), source.axes(), dims, views, names, positions);
  source.check(largest);
  const Isa isa = Tag::resolve();
  Job<T, N> job{AngleTable{}, CosSinRows{}, RotationScale{1.0, 1.0}, dims.pairs(), &views,
                positions};
  const auto& angles = source.bind(largest, job);  // keeps a bound table alive
  (void)angles;
  run_job<L, Tag>(isa, job, threads);
}

// The same with the layout chosen at run time.
template <class Tag, class T, std::size_t N, class Source>
void execute(const Source& source, const RotaryDims& dims, Layout layout,
             const HeadView<T> (&views)[N], const char* const (&names)[N],
             const Positions& positions, int threads = 1) {
  if (layout == Layout::half_split)
    execute<Tag, Layout::half_split>(source, dims, views, names, positions, threads);
  else if (layout == Layout::interleaved)
    execute<Tag, Layout::interleaved>(source, dims, views, names, positions, threads);
  else
    fail("layout", static_cast<int>(layout), "must be half_split or interleaved");
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_DETAIL_EXECUTE_HPP
