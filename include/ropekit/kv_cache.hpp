// SPDX-License-Identifier: Apache-2.0
// Appending new tokens to a paged KV cache in the pass that rotates them.
//
// `PagedKvCache<T>` describes (does not own) one layer's K and V caches:
// `pages` pages of `page_size` token slots, each slot holding `kv_heads`
// heads of `head_dim` elements of T (float, Eigen::half, Eigen::bfloat16,
// float8_e4m3fn or float8_e5m2 with a per-tensor or per-head dequantisation
// scale for k and for v). Layouts, as vLLM and flashinfer name them:
//   NHD  [pages, page_size, kv_heads, head_dim]
//   HND  [pages, kv_heads, page_size, head_dim]
// Pages are `page_stride` elements apart (default: packed), so a combined
// flashinfer buffer [pages, 2, ...] is k = base, v = base + page elements,
// page_stride = 2 * page elements.
//
// `KvSlots` says where the call's tokens go: vLLM's `slot_mapping` (token t
// to slot s = page * page_size + row), or one sequence's block table, where
// the token at position p goes to row p % page_size of page
// block_table[p / page_size] (the cache row is the rotary position: use a
// slot mapping when they differ, e.g. M-RoPE or after a context shift).
//
// `append_kv(rope, q, k, v, cache, slots, positions)` then, in one pass with
// cos/sin formed once per token: rotates q in place; writes k rotated into
// its slots of the K cache and v unrotated into the V cache, both rounded
// once to T (FP8: value / scale, nearest even, saturating). Before anything
// is written it rejects slots outside the cache, two tokens with one slot,
// shapes that do not match (head_dim, kv_heads, tokens), and q/k/v that
// share memory with either cache.
#ifndef ROPEKIT_KV_CACHE_HPP
#define ROPEKIT_KV_CACHE_HPP

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>

#include "any_rope.hpp"
#include "detail/cache_slots.hpp"
#include "detail/dispatch.hpp"
#include "detail/execute.hpp"
#include "detail/overflow.hpp"
#include "dims.hpp"
#include "error.hpp"
#include "frequencies.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "rope.hpp"
#include "rotate_into.hpp"
#include "storage.hpp"
#include "version.hpp"
#include "view.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// Order of a cache page: NHD [page_size, kv_heads, head_dim] (vLLM's
/// default) or HND [kv_heads, page_size, head_dim].
enum class KvLayout { nhd, hnd };

constexpr const char* kv_layout_name(KvLayout layout) noexcept {
  return layout == KvLayout::nhd ? "NHD" : "HND";
}

/// One layer's paged K and V caches (non-owning; see the header comment).
template <class T>
class PagedKvCache {
  static_assert(is_storage_type_v<T> && !std::is_same_v<T, double> && !std::is_const_v<T>,
                "ropekit: a KV cache holds float, Eigen::half, Eigen::bfloat16, float8_e4m3fn "
                "or float8_e5m2");

 public:
  using element_type = T;

  /// `k` and `v`: the first element of page 0 of each cache. `page_stride`
  /// < 0 means packed pages (page_size * kv_heads * head_dim elements).
  PagedKvCache(T* k, T* v, std::int64_t pages, std::int64_t page_size, std::int64_t kv_heads,
               std::int64_t head_dim, KvLayout layout = KvLayout::nhd,
               std::int64_t page_stride = -1)
      : k_(k),
        v_(v),
        pages_(pages),
        page_size_(page_size),
        kv_heads_(kv_heads),
        head_dim_(head_dim),
        page_stride_(page_stride),
        layout_(layout) {
    detail::require(pages > 0, "pages", pages, "must be positive");
    detail::require(page_size > 0, "page_size", page_size, "must be positive");
    detail::require(kv_heads > 0, "kv_heads", kv_heads, "must be positive");
    detail::require(head_dim > 0, "head_dim", head_dim, "must be positive");
    detail::require(layout == KvLayout::nhd || layout == KvLayout::hnd, "layout",
                    static_cast<int>(layout), "must be KvLayout::nhd or KvLayout::hnd");
    // Every offset below a quarter of INT64_MAX, as for HeadView.
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max() / 4;
    std::int64_t row = 0, page = 0, total = 0;
    if (detail::mul_overflows(kv_heads, head_dim, &row) ||
        detail::mul_overflows(row, page_size, &page) || page > kMax)
      detail::fail("page_size", page_size,
                   "times kv_heads = " + std::to_string(kv_heads) +
                       " times head_dim = " + std::to_string(head_dim) + " overflows int64");
    if (page_stride_ < 0) page_stride_ = page;
    if (page_stride_ < page)
      detail::fail(
          "page_stride", page_stride,
          "must be at least a page, page_size * kv_heads * head_dim = " + std::to_string(page));
    if (detail::mul_overflows(pages, page_stride_, &total) || total > kMax)
      detail::fail("pages", pages,
                   "times page_stride = " + std::to_string(page_stride_) + " overflows int64");
    check_pointer("k_cache", k_);
    check_pointer("v_cache", v_);
  }

  /// FP8 caches: one dequantisation scale for all of K and one for all of V
  /// (vLLM's k_scale, v_scale): stored = fp8(x / scale).
  PagedKvCache with_scales(float k_scale, float v_scale) const {
    static_assert(is_fp8_v<T>, "ropekit: only FP8 caches carry a scale");
    if (!(std::isfinite(k_scale) && k_scale > 0.0f))
      detail::fail("k_scale", k_scale, "must be finite and positive");
    if (!(std::isfinite(v_scale) && v_scale > 0.0f))
      detail::fail("v_scale", v_scale, "must be finite and positive");
    PagedKvCache cache = *this;
    cache.k_scale_ = k_scale;
    cache.v_scale_ = v_scale;
    cache.k_head_scales_ = cache.v_head_scales_ = nullptr;
    return cache;
  }
  /// FP8 caches: one scale per KV head for each (kv_heads floats each,
  /// finite and positive; checked when a call uses them).
  PagedKvCache with_head_scales(const float* k_scales, const float* v_scales) const {
    static_assert(is_fp8_v<T>, "ropekit: only FP8 caches carry a scale");
    detail::require(k_scales != nullptr, "k_head_scales", "nullptr",
                    "must point to one scale per KV head");
    detail::require(v_scales != nullptr, "v_head_scales", "nullptr",
                    "must point to one scale per KV head");
    PagedKvCache cache = *this;
    cache.k_head_scales_ = k_scales;
    cache.v_head_scales_ = v_scales;
    return cache;
  }

  T* k_data() const noexcept { return k_; }
  T* v_data() const noexcept { return v_; }
  std::int64_t pages() const noexcept { return pages_; }
  std::int64_t page_size() const noexcept { return page_size_; }
  std::int64_t kv_heads() const noexcept { return kv_heads_; }
  std::int64_t head_dim() const noexcept { return head_dim_; }
  std::int64_t page_stride() const noexcept { return page_stride_; }
  KvLayout layout() const noexcept { return layout_; }
  /// Slots in the cache: pages * page_size.
  std::int64_t slots() const noexcept { return pages_ * page_size_; }
  float k_scale() const noexcept { return k_scale_; }
  float v_scale() const noexcept { return v_scale_; }
  const float* k_head_scales() const noexcept { return k_head_scales_; }
  const float* v_head_scales() const noexcept { return v_head_scales_; }

  /// Elements between the heads of one slot, and between consecutive slots
  /// of one page.
  std::int64_t head_stride() const noexcept {
    return layout_ == KvLayout::nhd ? head_dim_ : page_size_ * head_dim_;
  }
  std::int64_t row_stride() const noexcept {
    return layout_ == KvLayout::nhd ? kv_heads_ * head_dim_ : head_dim_;
  }

  /// Page `page` of the K (V) cache as a view of page_size tokens, with its
  /// scales: to read it back (`convert` to float) or re-rotate it.
  HeadView<T> k_page(std::int64_t page) const {
    return page_view(k_, page, k_scale_, k_head_scales_);
  }
  HeadView<T> v_page(std::int64_t page) const {
    return page_view(v_, page, v_scale_, v_head_scales_);
  }

  /// Detail: the slot arithmetic, and one cache seen through a call's slots.
  detail::SlotGeometry slot_geometry() const noexcept {
    return {pages_, page_size_, page_stride_, row_stride()};
  }
  detail::CacheSlots<T> k_slots(const std::int64_t* offsets, std::int64_t tokens) const noexcept {
    return slots_of(k_, offsets, tokens, k_scale_, k_head_scales_);
  }
  detail::CacheSlots<T> v_slots(const std::int64_t* offsets, std::int64_t tokens) const noexcept {
    return slots_of(v_, offsets, tokens, v_scale_, v_head_scales_);
  }

 private:
  static void check_pointer(const char* name, const T* data) {
    detail::require(data != nullptr, name, "nullptr", "must point to the cache");
    if (reinterpret_cast<std::uintptr_t>(data) % alignof(T) != 0)
      detail::fail(name, static_cast<const void*>(data), "is not aligned for its element type");
  }

  HeadView<T> page_view(T* base, std::int64_t page, float scale, const float* head_scales) const {
    if (page < 0 || page >= pages_)
      detail::fail("page", page, "must lie in [0, pages = " + std::to_string(pages_) + ")");
    HeadView<T> view(base + page * page_stride_, page_size_, kv_heads_, head_dim_, row_stride(),
                     head_stride());
    if constexpr (is_fp8_v<T>)
      return head_scales != nullptr ? view.with_head_scales(head_scales) : view.with_scale(scale);
    (void)scale;
    (void)head_scales;
    return view;
  }

  detail::CacheSlots<T> slots_of(T* base, const std::int64_t* offsets, std::int64_t tokens,
                                 float scale, const float* head_scales) const noexcept {
    detail::ByteHeads region;
    region.begin = reinterpret_cast<std::uintptr_t>(base);
    region.tokens = pages_;
    region.heads = 1;
    region.head_bytes = page_size_ * kv_heads_ * head_dim_ * static_cast<std::int64_t>(sizeof(T));
    region.token_stride = page_stride_ * static_cast<std::int64_t>(sizeof(T));
    region.head_stride = region.head_bytes;
    return {base, offsets, tokens, kv_heads_, head_dim_, head_stride(), scale, head_scales, region};
  }

  T* k_;
  T* v_;
  std::int64_t pages_, page_size_, kv_heads_, head_dim_, page_stride_;
  KvLayout layout_;
  float k_scale_ = 1.0f, v_scale_ = 1.0f;
  const float* k_head_scales_ = nullptr;
  const float* v_head_scales_ = nullptr;
};

/// Where a call's tokens go in the cache (non-owning).
class KvSlots {
 public:
  /// One slot per token, in token order (vLLM's slot_mapping): slot s is
  /// row s % page_size of page s / page_size. Every slot in [0, pages *
  /// page_size), none twice in one call.
  static KvSlots slot_mapping(const std::int32_t* slots, std::int64_t count) {
    return KvSlots(slots, nullptr, count, false);
  }
  static KvSlots slot_mapping(const std::int64_t* slots, std::int64_t count) {
    return KvSlots(nullptr, slots, count, false);
  }
  /// One sequence's pages, `blocks` of them: the token at position p goes
  /// to row p % page_size of page block_table[p / page_size].
  static KvSlots block_table(const std::int32_t* pages, std::int64_t blocks) {
    return KvSlots(pages, nullptr, blocks, true);
  }
  static KvSlots block_table(const std::int64_t* pages, std::int64_t blocks) {
    return KvSlots(nullptr, pages, blocks, true);
  }

  bool is_block_table() const noexcept { return source_.block_table; }
  /// Slots given, or blocks in the table.
  std::int64_t count() const noexcept { return source_.count; }
  /// Detail: the ids as the resolution reads them.
  const detail::SlotSource& source() const noexcept { return source_; }

 private:
  KvSlots(const std::int32_t* ids32, const std::int64_t* ids64, std::int64_t count, bool table)
      : source_{ids32, ids64, count, table} {
    const char* name = table ? "block_table count" : "slot_mapping count";
    detail::require(count >= 0, name, count, "must not be negative");
    if (count > 0)
      detail::require(ids32 != nullptr || ids64 != nullptr, table ? "block_table" : "slot_mapping",
                      "nullptr", "must point to memory when the count is positive");
    static const std::int64_t kNone = 0;  // count 0 with no pointer: nothing to read
    if (ids32 == nullptr && ids64 == nullptr) source_.ids64 = &kNone;
  }

  detail::SlotSource source_;
};

namespace detail {

inline void check_cache_shape(const char* name, std::int64_t heads, std::int64_t head_dim,
                              std::int64_t kv_heads, std::int64_t cache_head_dim) {
  const std::string cache = std::string(name) + "_cache";
  if (kv_heads != heads)
    fail((cache + ".heads").c_str(), kv_heads,
         "must equal " + std::string(name) + ".heads = " + std::to_string(heads));
  if (cache_head_dim != head_dim)
    fail((cache + ".head_dim").c_str(), cache_head_dim,
         "must equal " + std::string(name) + ".head_dim = " + std::to_string(head_dim));
}

template <class Tag, Layout L, class Source, class Q, class K, class V, class C>
void append_kv_streams(const Source& source, const RotaryDims& dims, HeadView<Q> q,
                       HeadView<const K> k, HeadView<const V> v, const PagedKvCache<C>& cache,
                       const KvSlots& slots, const Positions& positions) {
  const std::int64_t tokens = q.tokens();
  // Shapes first, so that a cache of the wrong shape is not reported as a
  // bad slot (execute_streams repeats these checks with the rest).
  check_cache_shape("k", k.heads(), k.head_dim(), cache.kv_heads(), cache.head_dim());
  check_cache_shape("v", v.heads(), v.head_dim(), cache.kv_heads(), cache.head_dim());
  const std::int64_t* offsets =
      resolve_slots(cache.slot_geometry(), slots.source(), positions, tokens);
  const StreamNames names[] = {{"q", "q"}, {"k", "k_cache"}, {"v", "v_cache"}};
  execute_streams<Tag, L>(source, dims, positions, 1,
                          std::make_tuple(Stream<HeadView<Q>, InPlace>{q, InPlace{}, NormSpec{}},
                                          Stream<HeadView<const K>, CacheSlots<C>>{
                                              k, cache.k_slots(offsets, tokens), NormSpec{}},
                                          Stream<HeadView<const V>, CacheSlots<C>, false>{
                                              v, cache.v_slots(offsets, tokens), NormSpec{}}),
                          names);
}

template <class Q, class K, class V>
inline constexpr bool kv_sources_ok_v =
    !std::is_const_v<Q> && !(std::is_same_v<std::remove_const_t<Q>, double> ||
                             std::is_same_v<std::remove_const_t<K>, double> ||
                             std::is_same_v<std::remove_const_t<V>, double>);

}  // namespace detail

/// Rotates q in place, and writes k rotated and v as it is into their slots
/// of `cache`, converted to the cache's type, in one pass (cos/sin once per
/// token). q, k and v have the same tokens; k and v have the cache's
/// kv_heads and head_dim. Advances a length-dependent policy's state as
/// `apply` does. q, k, v: float, half, bfloat16 or FP8 (not double).
template <class R, class Q, class K, class V, class C, class Tag = detail::native_tag>
std::enable_if_t<detail::is_rope_object_v<R>> append_kv(const R& rope, HeadView<Q> q, HeadView<K> k,
                                                        HeadView<V> v, const PagedKvCache<C>& cache,
                                                        const KvSlots& slots,
                                                        const Positions& positions) {
  static_assert(detail::kv_sources_ok_v<Q, K, V>,
                "ropekit: append_kv rotates q in place (not const) and reads float, half, "
                "bfloat16 or FP8 (not double)");
  using KV = std::remove_const_t<K>;
  using VV = std::remove_const_t<V>;
  detail::with_rope(rope, [&](const auto& r, auto layout) {
    detail::append_kv_streams<Tag, decltype(layout)::value>(
        r.source(detail::Direction::forward), r.dims(), q, HeadView<const KV>(k),
        HeadView<const VV>(v), cache, slots, positions);
  });
}

/// The same with an explicit table (see `rotate`).
template <Layout L, class Q, class K, class V, class C, class Tag = detail::native_tag>
void append_kv(const FrequencyTable& table, const RotaryDims& dims, HeadView<Q> q, HeadView<K> k,
               HeadView<V> v, const PagedKvCache<C>& cache, const KvSlots& slots,
               const Positions& positions) {
  static_assert(detail::kv_sources_ok_v<Q, K, V>,
                "ropekit: append_kv rotates q in place (not const) and reads float, half, "
                "bfloat16 or FP8 (not double)");
  detail::append_kv_streams<Tag, L>(detail::TableSource{table, detail::Direction::forward}, dims, q,
                                    HeadView<const std::remove_const_t<K>>(k),
                                    HeadView<const std::remove_const_t<V>>(v), cache, slots,
                                    positions);
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_KV_CACHE_HPP
