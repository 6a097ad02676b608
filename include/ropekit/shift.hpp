// SPDX-License-Identifier: Apache-2.0
// K-shift: cached keys moved to new positions in one read-write pass, in
// place. llama.cpp's context shift (`llama_kv_cache` seq_add, then its
// K-shift graph) and StreamingLLM / attention-sink eviction (Xiao et al.
// 2023) renumber keys already in the cache; a key rotated at position p is
// the key at p + delta after one more rotation by delta * w_j. The angle is
// formed from the delta exactly, as from a position (not by composing float
// rotations: llama.cpp rotates by a float32 delta angle, vLLM's sink caches
// recompute from float32 tables), and no attention factor is applied: the
// cached keys already carry it.
#ifndef ROPEKIT_SHIFT_HPP
#define ROPEKIT_SHIFT_HPP

#include "any_rope.hpp"
#include "detail/dispatch.hpp"
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

/// Rotates cached `keys` in place from their positions p to p + delta.
/// `deltas`: one signed delta per token (`Positions(ids, tokens)`), or one
/// for the whole call (`Positions::constant(delta)`); |delta| <= max_position,
/// and p + delta is the caller's to keep in range. The keys must have been
/// rotated with `table`, `dims` and `L`. Every storage type: FP8 keys are
/// dequantised with their view's scale, rotated and requantised with the same
/// scale in the same pass. Shifting by a then by b equals shifting by a + b
/// to float rounding; each shift rounds once to the storage type.
template <Layout L, class T, class Tag = detail::native_tag>
void shift(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> keys,
           const Positions& deltas) {
  detail::execute<Tag, L>(detail::TableSource{table, detail::Direction::shift}, dims, {keys},
                          {"keys"}, deltas, 1, detail::PositionKind::delta);
}

/// The same with the layout chosen at run time.
template <class T, class Tag = detail::native_tag>
void shift(const FrequencyTable& table, const RotaryDims& dims, Layout layout, HeadView<T> keys,
           const Positions& deltas) {
  detail::execute<Tag>(detail::TableSource{table, detail::Direction::shift}, dims, layout, {keys},
                       {"keys"}, deltas, 1, detail::PositionKind::delta);
}

/// `shift` with a `Rope` or `AnyRope`: its dims, layout and current table.
/// Length-dependent policies (`DynamicNtk`, per-call `LongRope`): the table
/// of the current state (the one `rope.table()` returns, which the last
/// `apply` used); the shift does not advance the state. Keys rotated with
/// another table are shifted with that table by the table form, or moved to
/// the current one with `retable` first.
template <class R, class T, class Tag = detail::native_tag>
void shift_keys(const R& rope, HeadView<T> keys, const Positions& deltas) {
  detail::with_rope(rope, [&](const auto& r, auto layout) {
    detail::execute<Tag, decltype(layout)::value>(r.source(detail::Direction::shift), r.dims(),
                                                  {keys}, {"keys"}, deltas, 1,
                                                  detail::PositionKind::delta);
  });
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_SHIFT_HPP
