// SPDX-License-Identifier: Apache-2.0
// The cache slots a KV-cache append writes, as a stream destination: each
// token's head h lives at `data + offsets[t] + h * head_stride`, with the
// per-token offsets resolved (and checked: in range, no slot twice) before
// the call runs. Also the resolution itself.
#ifndef ROPEKIT_DETAIL_CACHE_SLOTS_HPP
#define ROPEKIT_DETAIL_CACHE_SLOTS_HPP

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "../dims.hpp"
#include "../error.hpp"
#include "../positions.hpp"
#include "../storage.hpp"
#include "../version.hpp"
#include "../view.hpp"

#include "macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// One cache (K or V) seen through the slots of one call. Implements the
// destination interface the kernels use (job.hpp): head, tokens, heads,
// head_dim, scale, head_range, and its memory for the overlap checks.
template <class T>
struct CacheSlots {
  using element_type = T;

  T* data;                      // head 0 of slot 0 (shifted by head_range)
  const std::int64_t* offsets;  // per token: head 0 of its slot, from the cache start
  std::int64_t tokens_, heads_, head_dim_, head_stride_;
  float scale_;               // FP8 dequantisation scale
  const float* head_scales_;  // or one per head
  ByteHeads region;           // the whole cache, for overlap checks

  T* head(std::int64_t token, std::int64_t h) const noexcept {
    return data + offsets[token] + h * head_stride_;
  }
  std::int64_t tokens() const noexcept { return tokens_; }
  std::int64_t heads() const noexcept { return heads_; }
  std::int64_t head_dim() const noexcept { return head_dim_; }
  float scale(std::int64_t h) const noexcept {
    return head_scales_ != nullptr ? head_scales_[h] : scale_;
  }
  // Heads [begin, begin + count) of every slot (callers pass a valid range).
  CacheSlots head_range(std::int64_t begin, std::int64_t count) const noexcept {
    CacheSlots part = *this;
    part.data = data + begin * head_stride_;
    part.heads_ = count;
    if (head_scales_ != nullptr) part.head_scales_ = head_scales_ + begin;
    return part;
  }
  operator ByteHeads() const noexcept { return region; }  // NOLINT: the overlap checks take it
};

// Found by argument-dependent lookup from execute.hpp's check_stream: the
// slots' head width against the rotation's, and their FP8 scales.
template <class T>
void check_view(const CacheSlots<T>& slots, const RotaryDims& dims, const char* name) {
  if (slots.head_dim() != dims.head_dim())
    fail((std::string(name) + ".head_dim").c_str(), slots.head_dim(),
         "must equal the rotation's head_dim = " + std::to_string(dims.head_dim()));
  if (slots.head_scales_ != nullptr)
    for (std::int64_t h = 0; h < slots.heads(); ++h)
      if (!(std::isfinite(slots.head_scales_[h]) && slots.head_scales_[h] > 0.0f))
        fail((std::string(name) + ".head_scales[" + std::to_string(h) + "]").c_str(),
             slots.head_scales_[h], "must be finite and positive");
}

// Where one call's tokens go: explicit slots (int32 or int64), or a block
// table (int32 or int64 page numbers) read at each token's position.
struct SlotSource {
  const std::int32_t* ids32;
  const std::int64_t* ids64;
  std::int64_t count;
  bool block_table;

  std::int64_t at(std::int64_t i) const noexcept { return ids32 != nullptr ? ids32[i] : ids64[i]; }
  const char* name() const noexcept { return block_table ? "block_table" : "slot_mapping"; }
};

// A cache's slot arithmetic: slot s is page s / page_size, row s % page_size;
// its head 0 sits page * page_stride + row * row_stride elements in.
struct SlotGeometry {
  std::int64_t pages, page_size, page_stride, row_stride;
  std::int64_t slots() const noexcept { return pages * page_size; }
  std::int64_t offset(std::int64_t slot) const noexcept {
    return slot / page_size * page_stride + slot % page_size * row_stride;
  }
};

// Per-thread scratch of the slot resolution, kept between calls: after the
// largest call a thread has made, resolving allocates nothing. It holds 16
// bytes per token (offsets, and a sorted copy for the duplicate check), so
// a thread that once appended a 128K-token prefill keeps 2 MiB. A bitmap
// over the cache's slots would find duplicates in O(n) but costs memory in
// proportion to the cache, not the call, and must be cleared; a hash set
// allocates per call. Sorting is O(n log n), and skipped when the slots
// increase (a prefill into its own pages), which proves them distinct.
inline std::vector<std::int64_t>& slot_scratch() {
  thread_local std::vector<std::int64_t> scratch;
  return scratch;
}

[[noreturn]] ROPEKIT_COLD inline void fail_duplicate(const SlotSource& source,
                                                     const std::int64_t* slot, std::int64_t tokens,
                                                     std::int64_t value,
                                                     const Positions& positions) {
  std::int64_t first = 0;
  while (slot[first] != value) ++first;
  std::int64_t second = first + 1;
  while (second < tokens && slot[second] != value) ++second;
  const std::string clash = std::to_string(first);
  if (!source.block_table)
    fail(("slot_mapping[" + std::to_string(second) + "]").c_str(), value,
         "repeats slot_mapping[" + clash + "]: each token of a call needs its own cache slot");
  fail(("position id [" + std::to_string(second) + "]").c_str(), positions.at(second),
       "goes to cache slot " + std::to_string(value) +
           " through the block table, as position id [" + clash +
           "] = " + std::to_string(positions.at(first)) +
           " does: each token of a call needs its own cache slot");
}

// Checks the slots of a call of `tokens` tokens (count, range, no slot
// twice; with a block table, positions within the table and pages within
// the cache) and returns each token's element offset in the cache, in this
// thread's scratch: valid until the thread's next call.
inline const std::int64_t* resolve_slots(const SlotGeometry& cache, const SlotSource& source,
                                         const Positions& positions, std::int64_t tokens) {
  std::vector<std::int64_t>& scratch = slot_scratch();
  if (scratch.size() < static_cast<std::size_t>(2 * tokens))
    scratch.resize(static_cast<std::size_t>(2 * tokens));
  std::int64_t* slot = scratch.data();
  std::int64_t* sorted = slot + tokens;
  const std::int64_t slots = cache.slots();
  if (!source.block_table) {
    if (source.count != tokens)
      fail("slot_mapping count", source.count,
           "must equal the number of tokens, " + std::to_string(tokens));
    for (std::int64_t t = 0; t < tokens; ++t) {
      const std::int64_t s = source.at(t);
      if (s < 0 || s >= slots)
        fail(("slot_mapping[" + std::to_string(t) + "]").c_str(), s,
             "must lie in [0, " + std::to_string(slots) +
                 ") (pages * page_size; vLLM's -1 "
                 "padding slots are not skipped: leave padded tokens out of the call)");
      slot[t] = s;
    }
  } else {
    if (positions.axes() != 1)
      fail("positions axes", positions.axes(),
           "must be 1 with a block table (multimodal positions are not cache rows: pass a "
           "slot mapping)");
    positions.validate(tokens);
    for (std::int64_t t = 0; t < tokens; ++t) {
      const std::int64_t p = positions.at(t);
      const std::int64_t block = p / cache.page_size;
      if (block >= source.count)
        fail(("position id [" + std::to_string(t) + "]").c_str(), p,
             "is past the block table: it needs block " + std::to_string(block) + " of " +
                 std::to_string(source.count) + " (page_size " + std::to_string(cache.page_size) +
                 ")");
      const std::int64_t page = source.at(block);
      if (page < 0 || page >= cache.pages)
        fail(("block_table[" + std::to_string(block) + "]").c_str(), page,
             "must lie in [0, pages = " + std::to_string(cache.pages) + ")");
      slot[t] = page * cache.page_size + p % cache.page_size;
    }
  }
  bool increasing = true;
  for (std::int64_t t = 1; t < tokens && increasing; ++t) increasing = slot[t] > slot[t - 1];
  if (!increasing) {
    std::copy(slot, slot + tokens, sorted);
    std::sort(sorted, sorted + tokens);
    const std::int64_t* repeat = std::adjacent_find(sorted, sorted + tokens);
    if (repeat != sorted + tokens) fail_duplicate(source, slot, tokens, *repeat, positions);
  }
  for (std::int64_t t = 0; t < tokens; ++t) slot[t] = cache.offset(slot[t]);
  return slot;
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_CACHE_SLOTS_HPP
