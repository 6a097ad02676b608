// SPDX-License-Identifier: Apache-2.0
// Token positions: a start offset (prefill, single-sequence decode) or
// explicit ids in any order with repeats (batched decode, tree/speculative
// attention). Multimodal rotary (M-RoPE) gives up to three ids per token.
#ifndef ROPEKIT_POSITIONS_HPP
#define ROPEKIT_POSITIONS_HPP

#include <cstdint>
#include <string>

#include "detail/overflow.hpp"
#include "error.hpp"
#include "version.hpp"

ROPEKIT_BEGIN_NAMESPACE

/// Largest position ropekit accepts. Angles are exact (float precision for
/// cos/sin) over the whole range [0, max_position].
inline constexpr std::int64_t max_position = 2147483647;  // 2^31 - 1

/// Positions of the tokens of one call. Cheap to copy; does not own ids.
class Positions {
 public:
  /// Most axes a token can carry (temporal, height, width for M-RoPE).
  static constexpr int kMaxAxes = 3;

  /// Tokens at start, start + 1, ... (count comes from the views).
  static Positions starting_at(std::int64_t start) {
    detail::require(start >= 0, "start position", start, "must not be negative");
    detail::require(start <= max_position, "start position", start,
                    "must not exceed max_position = 2147483647");
    Positions p;
    p.start_ = start;
    return p;
  }

  /// One id per token, `count` ids.
  Positions(const std::int32_t* ids, std::int64_t count) { set(ids, nullptr, count, 1); }
  Positions(const std::int64_t* ids, std::int64_t count) { set(nullptr, ids, count, 1); }

  /// `axes` ids per token for multimodal rotary: axis a of token t is
  /// `ids[a * axis_stride + t]` (transformers' `position_ids[3, seq]`).
  static Positions multi_axis(const std::int64_t* ids, int axes, std::int64_t count,
                              std::int64_t axis_stride) {
    Positions p;
    p.set_axes(nullptr, ids, count, axes, axis_stride);
    return p;
  }
  static Positions multi_axis(const std::int32_t* ids, int axes, std::int64_t count,
                              std::int64_t axis_stride) {
    Positions p;
    p.set_axes(ids, nullptr, count, axes, axis_stride);
    return p;
  }

  /// True for a start offset, false for explicit ids.
  bool is_range() const noexcept { return ids32_ == nullptr && ids64_ == nullptr; }
  /// Number of ids given; -1 for a start offset (it fits any token count).
  std::int64_t count() const noexcept { return count_; }
  int axes() const noexcept { return axes_; }
  std::int64_t start() const noexcept { return start_; }

  /// Position of `token` on `axis` (axis < axes()). No checks: hot path.
  std::int64_t at(std::int64_t token, int axis = 0) const noexcept {
    if (ids32_ != nullptr) return ids32_[axis * axis_stride_ + token];
    if (ids64_ != nullptr) return ids64_[axis * axis_stride_ + token];
    return start_ + token;
  }

  /// The positions of tokens [begin, begin + count), for calls that split
  /// the tokens of one batch across threads. No checks: pair it with the
  /// views' token_range, whose bounds are checked.
  Positions token_range(std::int64_t begin, std::int64_t count) const noexcept {
    Positions p = *this;
    if (is_range()) {
      p.start_ = start_ + begin;
    } else {
      if (ids32_ != nullptr) p.ids32_ = ids32_ + begin;
      if (ids64_ != nullptr && count_ > 0) p.ids64_ = ids64_ + begin;
      p.count_ = count;
    }
    return p;
  }

  /// Checks every position of the first `tokens` tokens and returns the
  /// largest (over all axes). Throws naming the first bad id.
  std::int64_t validate(std::int64_t tokens) const {
    if (is_range()) {
      // tokens - 1 > max_position - start: no sum that could overflow.
      if (tokens > 0 && tokens - 1 > max_position - start_)
        detail::fail("start position", start_,
                     "plus " + std::to_string(tokens) +
                         " tokens exceeds max_position = 2147483647");
      return tokens > 0 ? start_ + tokens - 1 : -1;
    }
    if (count_ != tokens)
      detail::fail("positions count", count_,
                   "must equal the number of tokens, " + std::to_string(tokens));
    std::int64_t largest = -1;
    for (int axis = 0; axis < axes_; ++axis) {
      for (std::int64_t t = 0; t < tokens; ++t) {
        const std::int64_t p = at(t, axis);
        if (p < 0 || p > max_position)
          detail::fail(("position id [" + std::to_string(t) + "]").c_str(), p,
                       "must lie in [0, 2147483647]");
        largest = p > largest ? p : largest;
      }
    }
    return largest;
  }

 private:
  Positions() = default;

  void set(const std::int32_t* ids32, const std::int64_t* ids64, std::int64_t count,
           int axes) {
    set_axes(ids32, ids64, count, axes, count);
  }

  void set_axes(const std::int32_t* ids32, const std::int64_t* ids64, std::int64_t count,
                int axes, std::int64_t axis_stride) {
    detail::require(count >= 0, "positions count", count, "must not be negative");
    detail::require(axes >= 1 && axes <= kMaxAxes, "position axes", axes,
                    "must be 1, 2 or 3");
    detail::require(axis_stride >= count || axes == 1, "position axis_stride", axis_stride,
                    "must be at least the count (axes must not overlap)");
    // at() indexes up to (axes - 1) * axis_stride + count - 1.
    std::int64_t last_axis = 0, span = 0;
    if (axes > 1 && (detail::mul_overflows(axes - 1, axis_stride, &last_axis) ||
                     detail::add_overflows(last_axis, count, &span)))
      detail::fail("position axis_stride", axis_stride,
                   "times " + std::to_string(axes - 1) + " plus the count " +
                       std::to_string(count) + " overflows int64");
    if (count > 0)
      detail::require(ids32 != nullptr || ids64 != nullptr, "position ids", "nullptr",
                      "must point to memory when count > 0");
    // A null pointer with count 0 still means "explicit ids": remember which.
    static const std::int64_t kNoIds = 0;
    ids32_ = ids32;
    ids64_ = (ids32 == nullptr && ids64 == nullptr) ? &kNoIds : ids64;
    count_ = count;
    axes_ = axes;
    axis_stride_ = axis_stride;
  }

  const std::int32_t* ids32_ = nullptr;
  const std::int64_t* ids64_ = nullptr;
  std::int64_t start_ = 0;
  std::int64_t count_ = -1;
  std::int64_t axis_stride_ = 0;
  int axes_ = 1;
};

ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_POSITIONS_HPP
