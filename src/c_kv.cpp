// SPDX-License-Identifier: Apache-2.0
// The C API's KV-cache append: rk_kv_cache as ropekit::PagedKvCache, the
// slot mapping or block table as ropekit::KvSlots, then ropekit::append_kv.
#include <cmath>
#include <cstring>
#include <string>

#include <ropekit/ropekit.hpp>

#include "c_api.hpp"
#include "c_views.hpp"

namespace ropekit_c {
namespace {

using ropekit::HeadView;
using ropekit::KvLayout;
using ropekit::KvSlots;
using ropekit::PagedKvCache;

KvLayout kv_layout_of(int layout) {
  switch (layout) {
    case RK_KV_NHD: return KvLayout::nhd;
    case RK_KV_HND: return KvLayout::hnd;
  }
  invalid("cache.layout", std::to_string(layout), "must be RK_KV_NHD (0) or RK_KV_HND (1)");
}

// A non-FP8 cache stores values as they are: a scale there is a mistake.
void require_unscaled(const rk_kv_cache& c) {
  if (c.k_scale != 1.0f)
    invalid("cache.k_scale", std::to_string(c.k_scale), "must be 1: only FP8 caches carry a scale");
  if (c.v_scale != 1.0f)
    invalid("cache.v_scale", std::to_string(c.v_scale), "must be 1: only FP8 caches carry a scale");
  if (c.k_head_scales != nullptr || c.v_head_scales != nullptr)
    invalid(c.k_head_scales != nullptr ? "cache.k_head_scales" : "cache.v_head_scales", "not NULL",
            "must be NULL: only FP8 caches carry a scale");
}

// The C++ cache checks name fields "pages", "k_scale", ...; the C caller
// knows them as cache.pages, cache.k_scale.
template <class C>
PagedKvCache<C> cache_of(const rk_kv_cache& c) {
  try {
    PagedKvCache<C> cache(static_cast<C*>(c.k), static_cast<C*>(c.v), c.pages, c.page_size,
                          c.kv_heads, c.head_dim, kv_layout_of(raw(c.layout)),
                          c.page_stride == 0 ? -1 : c.page_stride);
    if constexpr (ropekit::is_fp8_v<C>) {
      if (c.k_head_scales != nullptr || c.v_head_scales != nullptr)
        return cache.with_head_scales(c.k_head_scales, c.v_head_scales);
      return cache.with_scales(c.k_scale, c.v_scale);
    } else {
      require_unscaled(c);
      return cache;
    }
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    if (message.compare(0, 14, "ropekit: cache") == 0) throw;
    if (message.compare(0, 16, "ropekit: k_cache") == 0) rename_failure(e, "k_cache", "cache.k");
    if (message.compare(0, 16, "ropekit: v_cache") == 0) rename_failure(e, "v_cache", "cache.v");
    rename_failure(e, nullptr, "cache");
  }
}

// f(C{}) with C the cache's element type.
template <class F>
void with_cache_dtype(int dtype, F&& f) {
  switch (dtype) {
    case RK_DTYPE_F8_E4M3: return f(ropekit::float8_e4m3fn{});
    case RK_DTYPE_F8_E5M2: return f(ropekit::float8_e5m2{});
    case RK_DTYPE_F32:
    case RK_DTYPE_BF16:
    case RK_DTYPE_F16: return with_dtype(dtype, f);
  }
  invalid("cache.dtype", std::to_string(dtype),
          "must be an rk_dtype (RK_DTYPE_F32 .. RK_DTYPE_F8_E5M2)");
}

KvSlots slots_of(int64_t tokens, const int64_t* slot_mapping, const int64_t* block_table,
                 int64_t block_count) {
  if ((slot_mapping == nullptr) == (block_table == nullptr))
    invalid("slot_mapping", slot_mapping == nullptr ? "NULL" : "not NULL",
            "pass exactly one of slot_mapping and block_table");
  if (slot_mapping != nullptr) {
    if (block_count != 0)
      invalid("block_count", std::to_string(block_count),
              "must be 0 with slot_mapping (which holds `tokens` slots)");
    return KvSlots::slot_mapping(slot_mapping, tokens);
  }
  return KvSlots::block_table(block_table, block_count);
}

void check_struct_size(const rk_kv_cache& c) {
  if (c.struct_size != sizeof(rk_kv_cache))
    invalid("cache.struct_size", std::to_string(c.struct_size),
            "must be sizeof(rk_kv_cache) = " + std::to_string(sizeof(rk_kv_cache)) +
                " (fill it with rk_kv_cache_init; header and library must match)");
}

}  // namespace
}  // namespace ropekit_c

extern "C" {

rk_status rk_kv_cache_init(rk_kv_cache* cache) {
  using namespace ropekit_c;
  return guarded(nullptr, [&] {
    require_handle(cache, "cache", "must point to an rk_kv_cache");
    rk_kv_cache c;
    std::memset(&c, 0, sizeof c);
    c.struct_size = sizeof(rk_kv_cache);
    c.dtype = RK_DTYPE_F32;
    c.layout = RK_KV_NHD;
    c.k_scale = 1.0f;
    c.v_scale = 1.0f;
    *cache = c;
    return RK_OK;
  });
}

rk_status rk_rope_append_kv(const rk_rope* rope, int64_t tokens, const rk_tensor* q,
                            const rk_tensor* k, const rk_tensor* v, const rk_kv_cache* cache,
                            const int64_t* slot_mapping, const int64_t* block_table,
                            int64_t block_count, int64_t start_position,
                            const int64_t* position_ids) {
  using namespace ropekit_c;
  return guarded(rope == nullptr ? nullptr : &rope->error, [&] {
    require_rope(rope);
    require_handle(q, "q", "must point to an rk_tensor (rotated in place)");
    require_handle(k, "k", "must point to an rk_tensor");
    require_handle(v, "v", "must point to an rk_tensor");
    require_handle(cache, "cache", "must point to an rk_kv_cache");
    check_struct_size(*cache);
    check_tokens(tokens);
    check_dtype(*q, "q");
    check_dtype(*k, "k");
    check_dtype(*v, "v");
    if (raw(k->dtype) != raw(q->dtype))
      invalid("k.dtype", std::to_string(raw(k->dtype)),
              "must equal q.dtype = " + std::to_string(raw(q->dtype)));
    if (raw(v->dtype) != raw(q->dtype))
      invalid("v.dtype", std::to_string(raw(v->dtype)),
              "must equal q.dtype = " + std::to_string(raw(q->dtype)));
    const ropekit::Positions positions = positions_of(tokens, start_position, position_ids);
    const KvSlots slots = slots_of(tokens, slot_mapping, block_table, block_count);
    with_dtype(raw(q->dtype), [&](auto element) {
      using T = decltype(element);
      const HeadView<T> qv = view_of<T>(*q, tokens, "q");
      const HeadView<T> kv = view_of<T>(*k, tokens, "k");
      const HeadView<T> vv = view_of<T>(*v, tokens, "v");
      with_cache_dtype(raw(cache->dtype), [&](auto stored) {
        using C = decltype(stored);
        const PagedKvCache<C> paged = cache_of<C>(*cache);
        try {
          ropekit::append_kv(rope->rope, qv, kv, vv, paged, slots, positions);
        } catch (const std::invalid_argument& e) {
          const std::string message = e.what();
          if (message.compare(0, 16, "ropekit: k_cache") == 0)
            rename_failure(e, "k_cache", "cache");
          if (message.compare(0, 16, "ropekit: v_cache") == 0)
            rename_failure(e, "v_cache", "cache");
          throw;
        }
      });
    });
    return RK_OK;
  });
}

}  // extern "C"
