// SPDX-License-Identifier: Apache-2.0
// Re-table: cached keys moved from one angle table to another in one
// read-write pass, in place. A key rotated with table A at position p holds
// m_A * R(p * w_A) k; when the table changes under a live cache (dynamic NTK
// growing its base, LongRoPE switching from short to long factors) the cache
// wants m_B * R(p * w_B) k, which is one rotation by p * (w_B - w_A) scaled
// by m_B / m_A. The per-pair difference of turns is formed from both tables
// in extended precision, so the angle is as exact as a position's; undoing
// A and applying B (two passes, two roundings) is what this replaces.
#ifndef ROPEKIT_RETABLE_HPP
#define ROPEKIT_RETABLE_HPP

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "detail/dispatch.hpp"
#include "detail/execute.hpp"
#include "detail/job.hpp"
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

namespace detail {
struct TableChangeAccess;
}  // namespace detail

/// The rotation that takes keys rotated with `from` to keys rotated with
/// `to`: per pair the angle position * (w_to - w_from), and the scale
/// m_to / m_from. The tables must have the same pairs and read the same
/// position axis for every pair. Immutable and cheap to copy; building one
/// costs a few microseconds, so an engine moving many blocks of a cache
/// builds it once.
class TableChange {
 public:
  TableChange(const FrequencyTable& from, const FrequencyTable& to)
      : data_(std::make_shared<const Data>(build(from, to))) {}

  std::int64_t pairs() const noexcept { return data_->pairs; }
  int axes() const noexcept { return data_->axes; }
  /// m_to / m_from, the factor every rotated pair is multiplied by.
  double scale() const noexcept { return data_->scale; }

 private:
  friend struct detail::TableChangeAccess;

  struct Data {
    std::vector<double> turns_hi, turns_mid, turns_lo, quarters_head, quarters_tail;
    std::vector<std::uint8_t> axis;
    std::int64_t pairs = 0;
    int axes = 1;
    double scale = 1.0;
    detail::PairShape shape;
  };

  // A table's turns per position as one long double (the sum of its parts).
  static long double turns(const detail::AngleTable& a, std::int64_t j) {
    return static_cast<long double>(a.turns_hi[j]) + static_cast<long double>(a.turns_mid[j]) +
           static_cast<long double>(a.turns_lo[j]);
  }

  static Data build(const FrequencyTable& from, const FrequencyTable& to) {
    if (to.pairs() != from.pairs())
      detail::fail("to pairs", to.pairs(),
                   "must equal from pairs = " + std::to_string(from.pairs()) +
                       " (both tables must describe the same rotary_dim)");
    if (to.axes() != from.axes())
      detail::fail("to axes", to.axes(),
                   "must equal from axes = " + std::to_string(from.axes()));
    if (to.half_split_parts() != from.half_split_parts())
      detail::fail("to half_split_parts", to.half_split_parts(),
                   "must equal from half_split_parts = " + std::to_string(from.half_split_parts()));
    const std::int64_t pairs = from.pairs();
    for (std::int64_t j = 0; j < pairs; ++j)
      if (to.position_axis()[j] != from.position_axis()[j])
        detail::fail(("to position_axis[" + std::to_string(j) + "]").c_str(),
                     static_cast<int>(to.position_axis()[j]),
                     "must equal from position_axis[" + std::to_string(j) + "] = " +
                         std::to_string(static_cast<int>(from.position_axis()[j])) +
                         " (each pair rotates with one position axis in both tables)");
    Data d;
    d.pairs = pairs;
    d.axes = from.axes();
    d.scale = to.attention_factor() / from.attention_factor();
    // Pairs that neither table rotates stay untouched (a table skips its
    // zero-frequency tail only when its attention factor is 1, so there
    // the scale is 1 too).
    const std::int64_t to_tail = pairs - to.rotated_pairs(), from_tail = pairs - from.rotated_pairs();
    d.shape = detail::PairShape{to_tail < from_tail ? to_tail : from_tail, from.half_split_parts()};
    // Padded like a FrequencyTable (the kernels read whole vectors).
    const std::size_t padded = static_cast<std::size_t>((pairs + 15) / 16 * 16);
    for (auto* v : {&d.turns_hi, &d.turns_mid, &d.turns_lo, &d.quarters_head, &d.quarters_tail})
      v->assign(padded, 0.0);
    d.axis.assign(padded, 0);
    const detail::AngleTable a = detail::TableAccess::angles(from);
    const detail::AngleTable b = detail::TableAccess::angles(to);
    for (std::int64_t j = 0; j < pairs; ++j) {
      // Both turns lie in [0, 1/2], so the difference in [-1/2, 1/2] keeps
      // the exactness argument of FrequencyTable at every position.
      const detail::PairTurns parts = detail::split_turns(turns(b, j) - turns(a, j));
      const auto at = static_cast<std::size_t>(j);
      d.turns_hi[at] = parts.hi;
      d.turns_mid[at] = parts.mid;
      d.turns_lo[at] = parts.lo;
      d.quarters_head[at] = parts.quarters_head;
      d.quarters_tail[at] = parts.quarters_tail;
      d.axis[at] = from.position_axis()[j];
    }
    return d;
  }

  std::shared_ptr<const Data> data_;
};

namespace detail {

struct TableChangeAccess {
  static AngleTable angles(const TableChange& change) noexcept {
    const TableChange::Data& d = *change.data_;
    return {d.quarters_head.data(), d.quarters_tail.data(), d.turns_hi.data(),
            d.turns_mid.data(),     d.turns_lo.data(),      d.axis.data(),
            d.axes,                 d.scale,                d.shape};
  }
};

// Angles from a TableChange (the difference table), scaled by m_to / m_from.
struct ChangeSource {
  const TableChange& change;

  static const char* pairs_name() noexcept { return "table pairs"; }
  std::int64_t pairs() const noexcept { return change.pairs(); }
  int axes() const noexcept { return change.axes(); }
  void check(std::int64_t /*largest*/) const noexcept {}
  template <class Tag, class Job>
  int bind(std::int64_t /*largest*/, Job& job, Isa /*isa*/) const noexcept {
    job.table = TableChangeAccess::angles(change);
    job.scale = RotationScale{change.scale(), change.scale()};
    return 0;
  }
};

}  // namespace detail

/// Moves cached `keys` (rotated with the change's `from` table at
/// `positions`, with `dims` and `L`) to its `to` table, in place: the same
/// result as `rotate_inverse` with `from` then `rotate` with `to`, in one
/// pass and one rounding. Every storage type (FP8 requantised with its
/// view's scale).
template <Layout L, class T, class Tag = detail::native_tag>
void retable(const TableChange& change, const RotaryDims& dims, HeadView<T> keys,
             const Positions& positions) {
  detail::execute<Tag, L>(detail::ChangeSource{change}, dims, {keys}, {"keys"}, positions);
}

/// The same, building the change from the two tables.
template <Layout L, class T, class Tag = detail::native_tag>
void retable(const FrequencyTable& from, const FrequencyTable& to, const RotaryDims& dims,
             HeadView<T> keys, const Positions& positions) {
  retable<L, T, Tag>(TableChange(from, to), dims, keys, positions);
}

/// The same with the layout chosen at run time (`AnyRope::layout()`).
template <class T, class Tag = detail::native_tag>
void retable(const TableChange& change, const RotaryDims& dims, Layout layout, HeadView<T> keys,
             const Positions& positions) {
  detail::execute<Tag>(detail::ChangeSource{change}, dims, layout, {keys}, {"keys"}, positions);
}

template <class T, class Tag = detail::native_tag>
void retable(const FrequencyTable& from, const FrequencyTable& to, const RotaryDims& dims,
             Layout layout, HeadView<T> keys, const Positions& positions) {
  retable<T, Tag>(TableChange(from, to), dims, layout, keys, positions);
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_RETABLE_HPP
