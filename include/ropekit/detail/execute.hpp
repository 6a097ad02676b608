// SPDX-License-Identifier: Apache-2.0
// The one path every rotation takes: validate the call, resolve the kernel
// path, bind the angles (a table, possibly advancing a length-dependent
// policy's state, or precomputed cos/sin rows), then run the kernel over the
// tokens, on one thread or split across OpenMP threads. Nothing is written
// before every check has passed.
#ifndef ROPEKIT_DETAIL_EXECUTE_HPP
#define ROPEKIT_DETAIL_EXECUTE_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
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

#include "macros_begin.inl"

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
  if constexpr (is_fp8_v<std::remove_const_t<T>>) {
    if (view.head_scales() != nullptr)
      for (std::int64_t h = 0; h < view.heads(); ++h)
        if (!(std::isfinite(view.head_scales()[h]) && view.head_scales()[h] > 0.0f))
          fail((std::string(name) + ".head_scales[" + std::to_string(h) + "]").c_str(),
               view.head_scales()[h], "must be finite and positive");
  }
}

// The names a stream's views go by in messages.
struct StreamNames {
  const char* src;
  const char* dst;
};

// A stream's memory as the overlap checks see it.
struct Region {
  // Constructors declared in the baseline region (see version.hpp).
  Region() = default;
  Region(const ByteHeads& heads_, bool written_, const char* name_)
      : heads(heads_), written(written_), name(name_) {}
  ByteHeads heads;
  bool written = false;
  const char* name = nullptr;
};

template <class Stream>
void check_stream(const Stream& st, const StreamNames& names, const RotaryDims& dims,
                  std::int64_t tokens, const char* first_name) {
  check_view(st.src, dims, names.src);
  if (st.src.tokens() != tokens)
    fail((std::string(names.src) + ".tokens").c_str(), st.src.tokens(),
         std::string("must equal ") + first_name + ".tokens = " + std::to_string(tokens));
  if constexpr (!Stream::in_place) {
    check_view(st.dst, dims, names.dst);
    if (st.dst.tokens() != st.src.tokens())
      fail((std::string(names.dst) + ".tokens").c_str(), st.dst.tokens(),
           std::string("must equal ") + names.src + ".tokens = " + std::to_string(st.src.tokens()));
    if (st.dst.heads() != st.src.heads())
      fail((std::string(names.dst) + ".heads").c_str(), st.dst.heads(),
           std::string("must equal ") + names.src + ".heads = " + std::to_string(st.src.heads()));
  }
  if constexpr (Stream::normalises) {
    if (st.norm.weight == nullptr) fail("norm weight", "nullptr", "must point to head_dim floats");
    if (!(std::isfinite(st.norm.eps) && st.norm.eps > 0.0f))
      fail("norm eps", st.norm.eps, "must be finite and positive");
  }
}

template <class Stream>
void add_regions(const Stream& st, const StreamNames& names, Region* regions, int& count) {
  regions[count++] = Region{ByteHeads(st.src), Stream::in_place, names.src};
  if constexpr (!Stream::in_place) regions[count++] = Region{ByteHeads(st.dst), true, names.dst};
}

// What a call's positions are: absolute positions in [0, max_position], or
// position deltas (K-shift) in [-max_position, max_position].
enum class PositionKind { absolute, delta };

// Everything a call can reject, given the pairs and position axes of its
// angles: the views (head_dim, alignment, tokens, heads, FP8 scales), no
// element written twice or written while another stream reads it, and the
// positions. Returns the largest position (deltas: the largest magnitude;
// -1 when there are no tokens).
template <class... Streams, std::size_t... I>
std::int64_t validate_streams(const char* pairs_name, std::int64_t pairs, int axes,
                              const RotaryDims& dims,
                              const Positions& positions, const std::tuple<Streams...>& streams,
                              const StreamNames (&names)[sizeof...(Streams)],
                              std::index_sequence<I...>, PositionKind kind) {
  if (pairs != dims.pairs())
    fail(pairs_name, pairs, "must equal rotary_dim / 2 = " + std::to_string(dims.pairs()));
  const std::int64_t tokens = std::get<0>(streams).src.tokens();
  (check_stream(std::get<I>(streams), names[I], dims, tokens, names[0].src), ...);
  Region regions[2 * sizeof...(Streams)];
  int count = 0;
  (add_regions(std::get<I>(streams), names[I], regions, count), ...);
  for (int i = 0; i < count; ++i)
    for (int j = i + 1; j < count; ++j)
      if ((regions[i].written || regions[j].written) &&
          heads_may_overlap(regions[i].heads, regions[j].heads))
        fail(regions[j].name, reinterpret_cast<const void*>(regions[j].heads.begin),
             std::string("overlaps ") + regions[i].name +
                 " (an element would be written twice, or written while it is read)");
  if (positions.axes() != 1 && positions.axes() != axes)
    fail("positions axes", positions.axes(),
         "must be 1 or the policy's " + std::to_string(axes) + " position axes");
  return kind == PositionKind::delta ? positions.validate_deltas(tokens)
                                     : positions.validate(tokens);
}

// Angles from a FrequencyTable, in any direction.
struct TableSource {
  const FrequencyTable& table;
  Direction direction;

  static const char* pairs_name() noexcept { return "table pairs"; }
  std::int64_t pairs() const noexcept { return table.pairs(); }
  int axes() const noexcept { return table.axes(); }
  void check(std::int64_t /*largest*/) const noexcept {}
  template <class Tag, class Job>
  const FrequencyTable& bind(std::int64_t /*largest*/, Job& job, Isa /*isa*/) const noexcept {
    job.table = TableAccess::angles(table);
    job.scale = rotation_scale(table.attention_factor(), direction);
    return table;
  }
};

// The channels a call rotates: the dims' slice, less the trailing pairs the
// angles skip, in the angles' half-split parts (interleaved pairs are
// adjacent channels whatever the parts). One rule for every entry point.
template <Layout L>
Geometry call_geometry(const RotaryDims& dims, const PairShape& shape) {
  const std::int64_t parts = L == Layout::half_split ? shape.half_split_parts : 1;
  return Geometry{dims.head_dim(), dims.offset(), dims.pairs() - shape.identity_tail,
                  dims.pairs() / parts, parts};
}

// Tokens [begin, end) of a job on path `isa`.
template <Layout L, class Tag, class... Streams>
void run_range(Isa isa, const Job<Streams...>& job, std::int64_t begin, std::int64_t end) {
  using T = typename std::tuple_element_t<0, std::tuple<Streams...>>::source_value;
  constexpr bool kWritesBfloat16 =
      (std::is_same_v<std::remove_cv_t<typename Streams::destination_value>, Eigen::bfloat16> || ...);
  Tag::template with_kernel<T, kWritesBfloat16>(
      isa, [&](auto kernel) { decltype(kernel)::template run<L>(job, begin, end); });
}

// A validated job over all its tokens, on `threads` OpenMP threads (0: all
// of omp_get_max_threads(); without OpenMP the calling thread): chunks of
// tokens when there are at least as many tokens as threads, otherwise
// chunks of every stream's heads (decode). Same bits as one thread.
template <Layout L, class Tag, class... Streams>
void run_job(Isa isa, const Job<Streams...>& job, int threads) {
  const std::int64_t tokens = std::get<0>(job.streams).src.tokens();
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
    Job<Streams...> part = job;
    std::apply([&](auto&... stream) { (head_part(stream, chunk, n), ...); }, part.streams);
    run_range<L, Tag>(isa, part, 0, tokens);
  }
#endif
}

// The entry: validates the call against the source's angles, resolves the
// path, binds the angles (the source may advance a length-dependent state
// only now, when nothing can fail any more) and runs the streams.
template <class Tag, Layout L, class Source, class... Streams>
void execute_streams(const Source& source, const RotaryDims& dims, const Positions& positions,
                     int threads, const std::tuple<Streams...>& streams,
                     const StreamNames (&names)[sizeof...(Streams)],
                     PositionKind kind = PositionKind::absolute) {
  const std::int64_t largest = validate_streams(source.pairs_name(), source.pairs(), source.axes(), dims, positions,
                                                streams, names, std::index_sequence_for<Streams...>{}, kind);
  source.check(largest);
  const Isa isa = Tag::resolve();
  Job<Streams...> job(positions, streams);
  const auto& angles = source.template bind<Tag>(largest, job, isa);  // keeps a built table alive
  (void)angles;
  job.geometry = call_geometry<L>(dims, job.rows.cos != nullptr ? job.rows.shape : job.table.shape);
  run_job<L, Tag>(isa, job, threads);
}

// In-place streams over views, the common case: q and k, or one tensor.
template <class T, std::size_t N, std::size_t... I>
auto in_place_streams(const HeadView<T> (&views)[N], std::index_sequence<I...>) {
  return std::make_tuple(Stream<HeadView<T>, InPlace>{views[I], InPlace{}, NormSpec{}}...);
}

template <class Tag, Layout L, class T, std::size_t N, class Source>
void execute(const Source& source, const RotaryDims& dims, const HeadView<T> (&views)[N],
             const char* const (&names)[N], const Positions& positions, int threads = 1,
             PositionKind kind = PositionKind::absolute) {
  StreamNames stream_names[N];
  for (std::size_t i = 0; i < N; ++i) stream_names[i] = StreamNames{names[i], names[i]};
  execute_streams<Tag, L>(source, dims, positions, threads,
                          in_place_streams(views, std::make_index_sequence<N>{}), stream_names,
                          kind);
}

// The same with the layout chosen at run time.
template <class Tag, class T, std::size_t N, class Source>
void execute(const Source& source, const RotaryDims& dims, Layout layout,
             const HeadView<T> (&views)[N], const char* const (&names)[N],
             const Positions& positions, int threads = 1,
             PositionKind kind = PositionKind::absolute) {
  if (layout == Layout::half_split)
    execute<Tag, Layout::half_split>(source, dims, views, names, positions, threads, kind);
  else if (layout == Layout::interleaved)
    execute<Tag, Layout::interleaved>(source, dims, views, names, positions, threads, kind);
  else
    fail("layout", static_cast<int>(layout), "must be half_split or interleaved");
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_EXECUTE_HPP
