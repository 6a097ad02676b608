// SPDX-License-Identifier: Apache-2.0
// Out-of-place rotation with conversion, and plain conversion.
//
// `rotate_into` reads a source view, rotates it, and writes the result into
// a destination view of any storage type in the same pass: each element is
// widened to float (an FP8 code times its view's scale), rotated, and
// rounded once to the destination type (FP8: divided by the destination's
// scale, then rounded to nearest even, saturating). Channels past the
// rotary width are copied, converted the same way. The source is never
// written. `convert` is the same pass with no rotation: any storage type to
// any storage type, for instance an FP8 cache page back to float to inspect
// or re-rotate it.
//
// Source and destination must not share a byte, identical views included:
// a rotation in place is `apply`/`rotate`, which reads and writes one type.
// Rejecting every overlap keeps the promise that the source is left as it
// was, which a partly aliased destination would silently break.
#ifndef ROPEKIT_ROTATE_INTO_HPP
#define ROPEKIT_ROTATE_INTO_HPP

#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>

#include "any_rope.hpp"
#include "detail/dispatch.hpp"
#include "detail/execute.hpp"
#include "dims.hpp"
#include "error.hpp"
#include "frequencies.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "rope.hpp"
#include "storage.hpp"
#include "version.hpp"
#include "view.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// The objects that carry their own angles: Rope<P, L> and AnyRope.
template <class R>
struct is_rope_object : std::false_type {};
template <class Policy, Layout L>
struct is_rope_object<Rope<Policy, L>> : std::true_type {};
template <>
struct is_rope_object<AnyRope> : std::true_type {};
template <class R>
inline constexpr bool is_rope_object_v = is_rope_object<R>::value;

// The SIMD paths compute in float: double storage rotates on the scalar
// path, which the whole call takes when its first source is double. A call
// therefore holds double on every side or on none.
template <class... T>
inline constexpr bool double_on_all_or_no_side_v =
    (std::is_same_v<std::remove_const_t<T>, double> && ...) ||
    (!std::is_same_v<std::remove_const_t<T>, double> && ...);

template <class S, class D>
using convert_stream_t = Stream<HeadView<const S>, HeadView<D>, false>;

// Angles for a call that rotates nothing: every pair counts as an identity
// tail, so the call's geometry has no rotated pair (the kernel then copies
// every channel of every stream) and no table is read. `dims` only carries
// the head width the views are checked against.
struct NoAngles {
  const RotaryDims& dims;

  static const char* pairs_name() noexcept { return "pairs"; }
  std::int64_t pairs() const noexcept { return dims.pairs(); }
  int axes() const noexcept { return 1; }
  void check(std::int64_t /*largest*/) const noexcept {}
  template <class Tag, class Job>
  const NoAngles& bind(std::int64_t /*largest*/, Job& job, Isa /*isa*/) const noexcept {
    job.table.shape.identity_tail = dims.pairs();
    return *this;
  }
};

template <class Tag, Layout L, class Source, class S, class D>
void rotate_one_into(const Source& source, const RotaryDims& dims, HeadView<const S> src,
                     HeadView<D> dst, const Positions& positions) {
  const StreamNames names[] = {{"src", "dst"}};
  execute_streams<Tag, L>(
      source, dims, positions, 1,
      std::make_tuple(Stream<HeadView<const S>, HeadView<D>>{src, dst, NormSpec{}}), names);
}

template <class Tag, Layout L, class Source, class QS, class QD, class KS, class KD>
void rotate_two_into(const Source& source, const RotaryDims& dims, HeadView<const QS> q,
                     HeadView<QD> q_out, HeadView<const KS> k, HeadView<KD> k_out,
                     const Positions& positions) {
  const StreamNames names[] = {{"q", "q_out"}, {"k", "k_out"}};
  execute_streams<Tag, L>(
      source, dims, positions, 1,
      std::make_tuple(Stream<HeadView<const QS>, HeadView<QD>>{q, q_out, NormSpec{}},
                      Stream<HeadView<const KS>, HeadView<KD>>{k, k_out, NormSpec{}}),
      names);
}

}  // namespace detail

/// Rotates `src` into `dst` (another buffer, any storage type) with the
/// rope's angles, rounding once; channels past the rotary width are copied
/// (converted). Same tokens and heads on both sides; no shared byte.
/// Advances a length-dependent policy's state as `apply` does.
template <class R, class S, class D, class Tag = detail::native_tag>
std::enable_if_t<detail::is_rope_object_v<R>> rotate_into(const R& rope, HeadView<S> src,
                                                          HeadView<D> dst,
                                                          const Positions& positions) {
  static_assert(!std::is_const_v<D>, "ropekit: rotate_into writes dst: it cannot be const");
  static_assert(detail::double_on_all_or_no_side_v<S, D>,
                "ropekit: double storage converts only to and from double");
  using SV = std::remove_const_t<S>;
  detail::with_rope(rope, [&](const auto& r, auto layout) {
    detail::rotate_one_into<Tag, decltype(layout)::value>(
        r.source(detail::Direction::forward), r.dims(), HeadView<const SV>(src), dst, positions);
  });
}

/// q into q_out and k into k_out in one call: cos/sin formed once per token
/// for every head of both.
template <class R, class QS, class QD, class KS, class KD, class Tag = detail::native_tag>
std::enable_if_t<detail::is_rope_object_v<R>> rotate_into(const R& rope, HeadView<QS> q,
                                                          HeadView<QD> q_out, HeadView<KS> k,
                                                          HeadView<KD> k_out,
                                                          const Positions& positions) {
  static_assert(!std::is_const_v<QD> && !std::is_const_v<KD>,
                "ropekit: rotate_into writes q_out and k_out: they cannot be const");
  static_assert(detail::double_on_all_or_no_side_v<QS, QD, KS, KD>,
                "ropekit: double storage converts only to and from double");
  using QV = std::remove_const_t<QS>;
  using KV = std::remove_const_t<KS>;
  detail::with_rope(rope, [&](const auto& r, auto layout) {
    detail::rotate_two_into<Tag, decltype(layout)::value>(r.source(detail::Direction::forward),
                                                          r.dims(), HeadView<const QV>(q), q_out,
                                                          HeadView<const KV>(k), k_out, positions);
  });
}

/// The same with an explicit table (see `rotate`).
template <Layout L, class S, class D, class Tag = detail::native_tag>
void rotate_into(const FrequencyTable& table, const RotaryDims& dims, HeadView<S> src,
                 HeadView<D> dst, const Positions& positions) {
  static_assert(!std::is_const_v<D>, "ropekit: rotate_into writes dst: it cannot be const");
  static_assert(detail::double_on_all_or_no_side_v<S, D>,
                "ropekit: double storage converts only to and from double");
  detail::rotate_one_into<Tag, L>(detail::TableSource{table, detail::Direction::forward}, dims,
                                  HeadView<const std::remove_const_t<S>>(src), dst, positions);
}

template <Layout L, class QS, class QD, class KS, class KD, class Tag = detail::native_tag>
void rotate_into(const FrequencyTable& table, const RotaryDims& dims, HeadView<QS> q,
                 HeadView<QD> q_out, HeadView<KS> k, HeadView<KD> k_out,
                 const Positions& positions) {
  static_assert(!std::is_const_v<QD> && !std::is_const_v<KD>,
                "ropekit: rotate_into writes q_out and k_out: they cannot be const");
  static_assert(detail::double_on_all_or_no_side_v<QS, QD, KS, KD>,
                "ropekit: double storage converts only to and from double");
  detail::rotate_two_into<Tag, L>(detail::TableSource{table, detail::Direction::forward}, dims,
                                  HeadView<const std::remove_const_t<QS>>(q), q_out,
                                  HeadView<const std::remove_const_t<KS>>(k), k_out, positions);
}

/// Copies `src` into `dst`, converting every element once: widened to float
/// (FP8: code times the view's scale), then rounded to dst's type (FP8:
/// divided by dst's scale, rounded to nearest even, saturating). Any storage
/// type to any other (double only to and from double); same tokens, heads
/// and head_dim; no shared byte. Runs on the same kernel paths as the
/// rotations, with no angles.
template <class S, class D, class Tag = detail::native_tag>
void convert(HeadView<S> src, HeadView<D> dst) {
  static_assert(!std::is_const_v<D>, "ropekit: convert writes dst: it cannot be const");
  static_assert(detail::double_on_all_or_no_side_v<S, D>,
                "ropekit: double storage converts only to and from double");
  // Every ropekit call sees heads as RotaryDims describes them (at least
  // one channel pair); the copy rotates none of them.
  detail::require(src.head_dim() >= 2, "src.head_dim", src.head_dim(),
                  "must be at least 2 (ropekit's heads hold at least one channel pair)");
  if (dst.head_dim() != src.head_dim())
    detail::fail("dst.head_dim", dst.head_dim(),
                 "must equal src.head_dim = " + std::to_string(src.head_dim()));
  const RotaryDims dims(src.head_dim(), 2);
  const detail::StreamNames names[] = {{"src", "dst"}};
  using SV = std::remove_const_t<S>;
  detail::execute_streams<Tag, Layout::half_split>(
      detail::NoAngles{dims}, dims, Positions::starting_at(0), 1,
      std::make_tuple(
          detail::convert_stream_t<SV, D>{HeadView<const SV>(src), dst, detail::NormSpec{}}),
      names);
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_ROTATE_INTO_HPP
