// SPDX-License-Identifier: Apache-2.0
// An optional precomputed cos/sin table, for engines that prefer a lookup
// (vLLM's cos_sin_cache) to forming cos/sin per token. The rows hold exactly
// the float values the kernel path computes on the fly, so a cached call
// gives the same bits as an uncached one on the same path.
#ifndef ROPEKIT_COS_SIN_CACHE_HPP
#define ROPEKIT_COS_SIN_CACHE_HPP

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "detail/dispatch.hpp"
#include "detail/execute.hpp"
#include "dims.hpp"
#include "error.hpp"
#include "frequencies.hpp"
#include "isa.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "rotate.hpp"
#include "version.hpp"
#include "view.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// cos/sin (attention factor included) of every pair at positions
/// [0, positions), one padded row per position: rows * pairs * 8 bytes.
class CosSinCache {
 public:
  template <class Tag = detail::native_tag>
  CosSinCache(const FrequencyTable& table, std::int64_t positions)
      : pairs_(table.pairs()),
        positions_(positions),
        row_stride_((table.pairs() + 15) / 16 * 16),
        rotated_pairs_(table.rotated_pairs()),
        half_split_parts_(table.half_split_parts()) {
    detail::require(positions > 0, "cache positions", positions, "must be positive");
    detail::require(positions <= max_position + 1, "cache positions", positions,
                    "must not exceed max_position + 1 = 2147483648");
    if (table.axes() != 1)
      detail::fail("table axes", table.axes(),
                   "must be 1: multimodal positions index several rows per token");
    isa_ = Tag::resolve();
    // A half-split part may start anywhere in a row, and its last vector
    // reads up to one vector past the row: the slack keeps that inside.
    cos_.assign(static_cast<std::size_t>(positions * row_stride_ + kVectorSlack), 0.0f);
    sin_.assign(cos_.size(), 0.0f);
    const detail::AngleTable angles = detail::TableAccess::angles(table);
    Tag::template with_kernel<float>(isa_, [&](auto kernel) {
      decltype(kernel)::fill_rows(angles, pairs_, 0, positions, row_stride_, cos_.data(),
                                  sin_.data());
    });
  }

  std::int64_t pairs() const noexcept { return pairs_; }
  std::int64_t positions() const noexcept { return positions_; }
  /// The path whose cos/sin the rows hold.
  Isa isa() const noexcept { return isa_; }
  const float* cos_row(std::int64_t position) const noexcept {
    return cos_.data() + position * row_stride_;
  }
  const float* sin_row(std::int64_t position) const noexcept {
    return sin_.data() + position * row_stride_;
  }
  /// Floats between consecutive rows (pairs rounded up to 16).
  std::int64_t row_stride() const noexcept { return row_stride_; }
  /// The table's rotated_pairs() and half_split_parts(), which calls with
  /// this cache follow.
  std::int64_t rotated_pairs() const noexcept { return rotated_pairs_; }
  int half_split_parts() const noexcept { return half_split_parts_; }

 private:
  static constexpr std::int64_t kVectorSlack = 16;
  std::int64_t pairs_, positions_, row_stride_, rotated_pairs_;
  int half_split_parts_;
  Isa isa_ = Isa::scalar;
  std::vector<float> cos_, sin_;
};

namespace detail {

// Angles from a CosSinCache: rows indexed by position (forward only).
struct CacheSource {
  const CosSinCache& cache;

  static const char* pairs_name() noexcept { return "cache pairs"; }
  std::int64_t pairs() const noexcept { return cache.pairs(); }
  int axes() const noexcept { return 1; }
  void check(std::int64_t largest) const {
    if (largest >= cache.positions())
      fail("position", largest,
           "must be below the cache's positions = " + std::to_string(cache.positions()));
  }
  template <class Tag, class Job>
  int bind(std::int64_t /*largest*/, Job& job, Isa /*isa*/) const noexcept {
    const PairShape shape{cache.pairs() - cache.rotated_pairs(), cache.half_split_parts()};
    job.rows = CosSinRows{cache.cos_row(0), cache.sin_row(0), cache.row_stride(), shape};
    return 0;
  }
};

}  // namespace detail

/// Rotates q and k with cos/sin looked up in `cache` (forward only).
template <Layout L, class T, class Tag = detail::native_tag>
void rotate(const CosSinCache& cache, const RotaryDims& dims, HeadView<T> q, HeadView<T> k,
            const Positions& positions) {
  static_assert(!std::is_same_v<T, double>,
                "ropekit: CosSinCache holds float cos/sin; rotate double storage without it");
  detail::execute<Tag, L>(detail::CacheSource{cache}, dims, {q, k}, {"q", "k"}, positions);
}

/// Rotates one tensor with cos/sin looked up in `cache`.
template <Layout L, class T, class Tag = detail::native_tag>
void rotate(const CosSinCache& cache, const RotaryDims& dims, HeadView<T> x,
            const Positions& positions) {
  static_assert(!std::is_same_v<T, double>,
                "ropekit: CosSinCache holds float cos/sin; rotate double storage without it");
  detail::execute<Tag, L>(detail::CacheSource{cache}, dims, {x}, {"x"}, positions);
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_COS_SIN_CACHE_HPP
