// SPDX-License-Identifier: Apache-2.0
// append_kv: q rotated in place, k rotated and v copied into a paged cache,
// for every source type and cache type (float, half, bfloat16, FP8 E4M3 and
// E5M2 with per-tensor or per-head scales), NHD and HND pages, packed or
// strided (flashinfer's combined K/V buffer), slot mappings (int32, int64)
// and block tables (int32, int64), both rotation layouts, on every path:
// - on each path the cache equals, byte for byte, rotate_into / convert of
//   k and v into a staging tensor copied by hand to the slots the test
//   computes itself (canaries everywhere else), and q equals apply_q;
// - each SIMD path is within conversion_bound of the scalar reference on
//   k's rotated channels and bit for bit equal everywhere else;
// - a call too large for the cache (the streaming visit order) writes the
//   bytes of the same tokens appended in cache-resident pieces;
// - the duplicate check allocates nothing once warm.
// Bad calls: kv_cache_bad_input_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "convert_util.hpp"
#include "test_util.hpp"

// Counts allocations while armed, to show the steady state allocates
// nothing (replaces the global allocation functions of this binary, on
// malloc and free; GCC cannot see that the pair matches).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace
void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace ropekit;
using namespace ropekit_test;

enum class SlotKind { mapping32, mapping64_increasing, table32, table64_ids };

const char* slot_kind_name(SlotKind kind) {
  switch (kind) {
    case SlotKind::mapping32:
      return "slot_mapping int32";
    case SlotKind::mapping64_increasing:
      return "slot_mapping int64 increasing";
    case SlotKind::table32:
      return "block_table int32";
    default:
      return "block_table int64, explicit positions";
  }
}

struct CacheShape {
  std::int64_t head_dim, rotary_dim, kv_heads, page_size, pages, tokens;
  Placement sources;
};

const CacheShape kCacheShapes[] = {
    {128, 128, 2, 16, 6, 7, Placement::contiguous},
    {36, 20, 3, 5, 5, 9, Placement::padded_strides},  // 10 pairs, 16 channels copied
};

// The call's slots and positions, and the slot of each token as the test
// derives it (independently of the library).
struct SlotPlan {
  std::vector<std::int32_t> ids32;
  std::vector<std::int64_t> ids64, positions, slot;
  KvSlots slots = KvSlots::slot_mapping(static_cast<const std::int32_t*>(nullptr), 0);
};

SlotPlan plan_slots(SlotKind kind, const CacheShape& s) {
  SlotPlan plan;
  const std::int64_t total = s.pages * s.page_size;
  // Pages of the sequence in a shuffled order, as an allocator hands them out.
  std::vector<std::int64_t> table(static_cast<std::size_t>(s.pages));
  for (std::int64_t i = 0; i < s.pages; ++i)
    table[static_cast<std::size_t>(i)] = (i * 4 + 3) % s.pages;
  switch (kind) {
    case SlotKind::mapping32:
      for (std::int64_t t = 0; t < s.tokens; ++t) {
        plan.slot.push_back((t * 37 + 11) % total);  // distinct, unordered
        plan.positions.push_back(t * 1000003 % 2147483647 + t);
      }
      for (std::int64_t x : plan.slot) plan.ids32.push_back(static_cast<std::int32_t>(x));
      plan.slots = KvSlots::slot_mapping(plan.ids32.data(), s.tokens);
      break;
    case SlotKind::mapping64_increasing:
      for (std::int64_t t = 0; t < s.tokens; ++t) {
        plan.slot.push_back(t * 2 + 1);
        plan.positions.push_back(131000 + t);
      }
      plan.ids64 = plan.slot;
      plan.slots = KvSlots::slot_mapping(plan.ids64.data(), s.tokens);
      break;
    case SlotKind::table32:
      for (std::int64_t t = 0; t < s.tokens; ++t) plan.positions.push_back(3 + t);
      for (std::int64_t x : table) plan.ids32.push_back(static_cast<std::int32_t>(x));
      plan.slots = KvSlots::block_table(plan.ids32.data(), s.pages);
      break;
    default:
      for (std::int64_t t = 0; t < s.tokens; ++t) plan.positions.push_back((t * 7 + 2) % total);
      plan.ids64 = table;
      plan.slots = KvSlots::block_table(plan.ids64.data(), s.pages);
  }
  if (plan.slot.empty())
    for (std::int64_t p : plan.positions)
      plan.slot.push_back(table[static_cast<std::size_t>(p / s.page_size)] * s.page_size +
                          p % s.page_size);
  return plan;
}

// Index of channel c of head h of `slot` in a cache buffer.
std::int64_t cache_index(KvLayout layout, const CacheShape& s, std::int64_t page_stride,
                         std::int64_t slot, std::int64_t h, std::int64_t c) {
  const std::int64_t page = slot / s.page_size, row = slot % s.page_size;
  return page * page_stride +
         (layout == KvLayout::nhd ? (row * s.kv_heads + h) * s.head_dim
                                  : (h * s.page_size + row) * s.head_dim) +
         c;
}

struct Case {
  CacheShape shape;
  KvLayout layout;
  SlotKind kind;
  bool per_head, combined;
};

template <class S, class C, Layout L>
void check_append(const Case& cs) {
  const CacheShape& s = cs.shape;
  SCOPED_TRACE(std::string(storage_name<S>()) + " -> cache " + storage_name<C>() + " " +
               layout_name(L) + " " + kv_layout_name(cs.layout) + " " + slot_kind_name(cs.kind) +
               (cs.per_head ? " per-head" : " per-tensor") + (cs.combined ? " combined" : "") +
               " head_dim " + std::to_string(s.head_dim));
  const RotaryDims dims(s.head_dim, s.rotary_dim);
  const Rope<scaling::Yarn, L> rope(dims, scaling::Yarn(4.0, 4096, 10000.0));
  const std::int64_t q_heads = 2 * s.kv_heads;
  const Grid gq = Grid::make(s.sources, s.tokens, q_heads, s.head_dim);
  const Grid gk = Grid::make(s.sources, s.tokens, s.kv_heads, s.head_dim);
  const Grid staging = Grid::make(Placement::contiguous, s.tokens, s.kv_heads, s.head_dim);
  const std::vector<float> q_scales(static_cast<std::size_t>(q_heads), is_fp8_v<S> ? 0.03f : 1.0f);
  std::vector<float> k_src(static_cast<std::size_t>(s.kv_heads)), v_src = k_src, k_dst = k_src,
                                                                  v_dst = k_src;
  for (std::size_t h = 0; h < k_src.size(); ++h) {
    const float spread = cs.per_head ? 1.0f + 0.7f * static_cast<float>(h) : 1.0f;
    k_src[h] = is_fp8_v<S> ? 0.021f * spread : 1.0f;
    v_src[h] = is_fp8_v<S> ? 0.017f / spread : 1.0f;
    k_dst[h] = is_fp8_v<C> ? 0.013f * spread : 1.0f;
    v_dst[h] = is_fp8_v<C> ? 0.011f / spread : 1.0f;
  }
  const auto q0 = filled<S>(gq, 1, q_scales);
  const auto k0 = filled<S>(gk, 2, k_src);
  const auto v0 = filled<S>(gk, 3, v_src);
  const SlotPlan plan = plan_slots(cs.kind, s);
  const Positions positions(plan.positions.data(), s.tokens);
  const std::int64_t page = s.page_size * s.kv_heads * s.head_dim;
  const std::int64_t page_stride = cs.combined ? 2 * page : page;
  // One buffer for both caches: separate halves, or pages interleaved.
  const std::int64_t v_start = cs.combined ? page : s.pages * page;
  const std::vector<C> blank(static_cast<std::size_t>(2 * s.pages * page), C(-7.0f));

  std::vector<std::vector<C>> caches;
  const auto paths = available_isas();
  for (Isa isa : paths) {
    SCOPED_TRACE(isa_name(isa));
    ScopedIsa scoped(isa);
    auto q = q0, k = k0, v = v0;
    auto cache_buffer = blank;
    PagedKvCache<C> cache(cache_buffer.data(), cache_buffer.data() + v_start, s.pages, s.page_size,
                          s.kv_heads, s.head_dim, cs.layout, page_stride);
    if constexpr (is_fp8_v<C>)
      cache = cs.per_head ? cache.with_head_scales(k_dst.data(), v_dst.data())
                          : cache.with_scales(k_dst[0], v_dst[0]);
    append_kv(rope, scaled(gq.view<S>(q), q_scales, false),
              scaled(gk.view<const S>(k), k_src, cs.per_head),
              scaled(gk.view<const S>(v), v_src, cs.per_head), cache, plan.slots, positions);
    ASSERT_TRUE(bytes_equal(k, k0) && bytes_equal(v, v0)) << "a source changed";

    // The same path in separate calls, placed by hand.
    auto q_expected = q0;
    rotate<L>(rope.table(), dims, scaled(gq.view<S>(q_expected), q_scales, false), positions);
    ASSERT_TRUE(bytes_equal(q, q_expected)) << "q";
    auto expected = blank;
    std::vector<C> k_rows(static_cast<std::size_t>(staging.size)), v_rows = k_rows;
    rotate_into<L>(rope.table(), dims, scaled(gk.view<const S>(k0), k_src, cs.per_head),
                   scaled(staging.view<C>(k_rows), k_dst, cs.per_head), positions);
    convert(scaled(gk.view<const S>(v0), v_src, cs.per_head),
            scaled(staging.view<C>(v_rows), v_dst, cs.per_head));
    for (std::int64_t t = 0; t < s.tokens; ++t)
      for (std::int64_t h = 0; h < s.kv_heads; ++h)
        for (std::int64_t c = 0; c < s.head_dim; ++c) {
          const auto at =
              cache_index(cs.layout, s, page_stride, plan.slot[static_cast<std::size_t>(t)], h, c);
          const auto from = static_cast<std::size_t>(staging.at(t, h, c));
          expected[static_cast<std::size_t>(at)] = k_rows[from];
          expected[static_cast<std::size_t>(v_start + at)] = v_rows[from];
        }
    for (std::size_t i = 0; i < expected.size(); ++i)
      ASSERT_TRUE(same_element(cache_buffer[i], expected[i])) << "cache element " << i;
    caches.push_back(cache_buffer);
  }

  // Every SIMD path against the scalar reference: k's rotated channels
  // within the bound, every other byte equal.
  const double m = rope.attention_factor();
  const auto& reference = caches.front();
  for (std::size_t p = 1; p < paths.size(); ++p) {
    SCOPED_TRACE(isa_name(paths[p]));
    std::vector<bool> rotated(reference.size(), false);
    for (std::int64_t t = 0; t < s.tokens; ++t)
      for (std::int64_t h = 0; h < s.kv_heads; ++h)
        for (std::int64_t j = 0; j < dims.pairs(); ++j) {
          const std::int64_t c0 = L == Layout::half_split ? j : 2 * j;
          const std::int64_t c1 = L == Layout::half_split ? j + dims.pairs() : 2 * j + 1;
          const auto hs = static_cast<std::size_t>(h);
          const double magnitude =
              std::fabs(value_of(k0[static_cast<std::size_t>(gk.at(t, h, c0))], k_src[hs])) +
              std::fabs(value_of(k0[static_cast<std::size_t>(gk.at(t, h, c1))], k_src[hs]));
          for (std::int64_t c : {c0, c1}) {
            const auto i = static_cast<std::size_t>(cache_index(
                cs.layout, s, page_stride, plan.slot[static_cast<std::size_t>(t)], h, c));
            rotated[i] = true;
            ASSERT_NEAR(value_of(caches[p][i], k_dst[hs]), value_of(reference[i], k_dst[hs]),
                        conversion_bound<C>(magnitude, m, k_dst[hs]))
                << "t=" << t << " h=" << h << " channel " << c;
          }
        }
    for (std::size_t i = 0; i < reference.size(); ++i) {
      if (!rotated[i]) {
        ASSERT_TRUE(same_element(caches[p][i], reference[i])) << "cache element " << i;
      }
    }
  }
}

// Every source type into every cache type, each pair on one rotation
// layout, alternating (both layouts meet every cache type and every source
// type): the layouts differ only in which channels pair up, which
// rotate_into_test covers for every type pair; the slot addressing here is
// the same code for both. One layout per pair halves this file's build.
template <class S, class C>
void check_pair(const std::vector<Case>& cases) {
  constexpr bool kInterleaved = (std::is_same_v<S, float> + std::is_same_v<S, Eigen::bfloat16> +
                                 std::is_same_v<S, float8_e5m2> + std::is_same_v<C, Eigen::half> +
                                 std::is_same_v<C, float8_e4m3fn>) %
                                    2 ==
                                1;
  constexpr Layout L = kInterleaved ? Layout::interleaved : Layout::half_split;
  for (const Case& cs : cases) check_append<S, C, L>(cs);
}

TEST(AppendKv, EveryPair) {
  std::vector<Case> cases;
  for (const CacheShape& shape : kCacheShapes)
    for (KvLayout layout : {KvLayout::nhd, KvLayout::hnd})
      for (SlotKind kind : {SlotKind::mapping32, SlotKind::mapping64_increasing, SlotKind::table32,
                            SlotKind::table64_ids})
        cases.push_back({shape, layout, kind,
                         kind == SlotKind::mapping32 || kind == SlotKind::table32,
                         kind == SlotKind::table64_ids});
  for_each_conversion_type([&](auto s) {
    for_each_conversion_type([&](auto c) { check_pair<decltype(s), decltype(c)>(cases); });
  });
}

// Calls too large for the cache (q, k and v read, k and v written: just
// over kCacheResidentBytes) take the streaming visit order, prefetching the
// next token; on every path q and the cache hold the bytes of the same
// tokens appended in cache-resident pieces of 8. The pairs and layouts are
// ones EveryPair instantiates: every source and cache width, FP8 per head.
template <class S, class C, Layout L>
void expect_streaming_matches_pieces(Isa isa) {
  SCOPED_TRACE(std::string(isa_name(isa)) + " " + storage_name<S>() + " -> cache " +
               storage_name<C>() + " " + layout_name(L));
  ScopedIsa scoped(isa);
  constexpr std::int64_t q_heads = 4, kv_heads = 2, d = 128, page_size = 16;
  const std::int64_t s_size = sizeof(S), c_size = sizeof(C);
  const std::int64_t tokens =
      streaming_tokens((q_heads + 2 * kv_heads) * d * s_size + 2 * kv_heads * d * c_size);
  const std::int64_t pages = tokens / page_size + 2, slots_total = pages * page_size;
  const Rope<scaling::Yarn, L> rope(RotaryDims(d), scaling::Yarn(4.0, 4096, 10000.0));
  const std::vector<float> src_scales{0.021f, 0.05f, 0.017f, 0.03f}, cache_scales{0.013f, 0.03f};
  const auto q0 = random_values<S>(static_cast<std::size_t>(tokens * q_heads * d), 51);
  const auto k = random_values<S>(static_cast<std::size_t>(tokens * kv_heads * d), 52);
  const auto v = random_values<S>(static_cast<std::size_t>(tokens * kv_heads * d), 53);
  std::vector<std::int64_t> slot_ids(static_cast<std::size_t>(tokens));
  for (std::int64_t t = 0; t < tokens; ++t)  // distinct, descending across pages
    slot_ids[static_cast<std::size_t>(t)] = slots_total - 1 - t;
  const Positions positions = Positions::starting_at(max_position + 1 - tokens);
  const std::vector<C> blank(static_cast<std::size_t>(2 * slots_total * kv_heads * d), C(-7.0f));
  auto q_whole = q0, q_pieces = q0;
  auto cache_whole = blank, cache_pieces = blank;
  const auto cache_of = [&](std::vector<C>& buffer) {
    PagedKvCache<C> cache(buffer.data(), buffer.data() + buffer.size() / 2, pages, page_size,
                          kv_heads, d, KvLayout::nhd);
    if constexpr (is_fp8_v<C>)
      cache = cache.with_head_scales(cache_scales.data(), cache_scales.data());
    return cache;
  };
  const auto view_of = [&](auto& x, std::int64_t heads) {  // q writable, k and v const
    auto view = token_major_view(x.data(), tokens, heads, d);
    if constexpr (is_fp8_v<S>) view = view.with_head_scales(src_scales.data());
    return view;
  };
  append_kv(rope, view_of(q_whole, q_heads), view_of(k, kv_heads), view_of(v, kv_heads),
            cache_of(cache_whole), KvSlots::slot_mapping(slot_ids.data(), tokens), positions);
  const auto qv = view_of(q_pieces, q_heads);
  const auto kv = view_of(k, kv_heads), vv = view_of(v, kv_heads);
  const auto cache = cache_of(cache_pieces);
  for (std::int64_t t = 0; t < tokens; t += 8)
    append_kv(rope, qv.token_range(t, 8), kv.token_range(t, 8), vv.token_range(t, 8), cache,
              KvSlots::slot_mapping(slot_ids.data() + t, 8), positions.token_range(t, 8));
  EXPECT_TRUE(bytes_equal(q_whole, q_pieces));
  EXPECT_TRUE(bytes_equal(cache_whole, cache_pieces));
  EXPECT_FALSE(bytes_equal(cache_whole, blank));
}

TEST(AppendKv, CallsThatStreamFromMemoryMatchSmallCalls) {
  for (Isa isa : simd_paths()) {
    expect_streaming_matches_pieces<float, Eigen::bfloat16, Layout::interleaved>(isa);
    expect_streaming_matches_pieces<Eigen::bfloat16, float8_e4m3fn, Layout::half_split>(isa);
    expect_streaming_matches_pieces<Eigen::half, Eigen::half, Layout::interleaved>(isa);
    expect_streaming_matches_pieces<float8_e5m2, float, Layout::interleaved>(isa);
  }
}

// Rope, AnyRope and the table form write the same bytes; a zero-token call
// writes nothing.
TEST(AppendKv, RopeAnyRopeAndTableAgree) {
  const RotaryDims dims(64);
  const std::int64_t tokens = 3, pages = 4, page_size = 4;
  const auto q0 = random_values<float>(tokens * 4 * 64, 1);
  const auto k = random_values<float>(tokens * 2 * 64, 2);
  const auto v = random_values<float>(tokens * 2 * 64, 3);
  const std::int32_t slot_ids[3] = {9, 2, 14};
  const std::int64_t ids[3] = {100, 5000, 7};
  std::vector<std::vector<Eigen::bfloat16>> results;
  const Rope<scaling::Llama3, gptj> rope(dims, scaling::Llama3(8.0, 1.0, 4.0, 8192, 500000.0));
  const AnyRope any(rope);
  for (int form = 0; form < 3; ++form) {
    auto q = q0;
    std::vector<Eigen::bfloat16> buffer(2 * pages * page_size * 2 * 64, Eigen::bfloat16(-7.0f));
    PagedKvCache<Eigen::bfloat16> cache(buffer.data(), buffer.data() + buffer.size() / 2, pages,
                                        page_size, 2, 64, KvLayout::hnd);
    const auto qv = token_major_view(q.data(), tokens, 4, 64);
    const auto kv = token_major_view(k.data(), tokens, 2, 64);
    const auto vv = token_major_view(v.data(), tokens, 2, 64);
    const KvSlots slots = KvSlots::slot_mapping(slot_ids, tokens);
    if (form == 0) append_kv(rope, qv, kv, vv, cache, slots, Positions(ids, tokens));
    if (form == 1) append_kv(any, qv, kv, vv, cache, slots, Positions(ids, tokens));
    if (form == 2)
      append_kv<gptj>(rope.table(), dims, qv, kv, vv, cache, slots, Positions(ids, tokens));
    results.push_back(buffer);
    const auto written = buffer;
    append_kv(rope, token_major_view(q.data(), 0, 4, 64), token_major_view(k.data(), 0, 2, 64),
              token_major_view(v.data(), 0, 2, 64), cache, KvSlots::slot_mapping(slot_ids, 0),
              Positions::starting_at(0));
    EXPECT_TRUE(bytes_equal(buffer, written)) << "a zero-token call wrote";
  }
  EXPECT_TRUE(bytes_equal(results[0], results[1]));
  EXPECT_TRUE(bytes_equal(results[0], results[2]));
}

// A rotated slice at an offset (DeepSeek-V4's last channels) and an
// identity tail (proportional RoPE): on every path, a float cache holds
// exactly k rotated in place (apply_k on a copy) and v, and q is apply_q's.
template <class R>
void expect_append_as_in_place(const R& rope) {
  const std::int64_t head_dim = rope.dims().head_dim();
  const std::int64_t tokens = 3, pages = 2, page_size = 4;
  const std::int64_t slot_ids[3] = {6, 1, 4};
  const std::int64_t ids[3] = {7, 70000, 12};
  const Positions positions(ids, tokens);
  const auto q0 = random_values<float>(tokens * 2 * head_dim, 1);
  const auto k0 = random_values<float>(tokens * head_dim, 2);
  const auto v = random_values<float>(tokens * head_dim, 3);
  auto q = q0, q_expected = q0, k_expected = k0;
  std::vector<float> buffer(2 * pages * page_size * head_dim, -9.0f);
  const PagedKvCache<float> cache(buffer.data(), buffer.data() + buffer.size() / 2, pages,
                                  page_size, 1, head_dim, KvLayout::hnd);
  append_kv(rope, token_major_view(q.data(), tokens, 2, head_dim),
            token_major_view(k0.data(), tokens, 1, head_dim),
            token_major_view(v.data(), tokens, 1, head_dim), cache,
            KvSlots::slot_mapping(slot_ids, tokens), positions);
  rope.apply_q(token_major_view(q_expected.data(), tokens, 2, head_dim), positions);
  rope.apply_k(token_major_view(k_expected.data(), tokens, 1, head_dim), positions);
  EXPECT_TRUE(bytes_equal(q, q_expected)) << "q, head_dim " << head_dim;
  for (std::int64_t t = 0; t < tokens; ++t) {
    const auto at = static_cast<std::size_t>(slot_ids[t] * head_dim);
    const auto from = static_cast<std::size_t>(t * head_dim);
    for (std::int64_t c = 0; c < head_dim; ++c) {
      const auto i = static_cast<std::size_t>(c);
      ASSERT_EQ(buffer[at + i], k_expected[from + i]) << "k t=" << t << " channel " << c;
      ASSERT_EQ(buffer[buffer.size() / 2 + at + i], v[from + i]) << "v t=" << t << " channel " << c;
    }
  }
}

TEST(AppendKv, SliceAtAnOffsetAndIdentityTailAsInPlace) {
  for_each_path_and_slice_rope([](const auto& rope) { expect_append_as_in_place(rope); });
}

// Slot resolution reuses this thread's scratch: once a call of n tokens has
// run, calls of up to n tokens allocate nothing, unordered slots (the sort)
// and block tables included.
TEST(AppendKv, SteadyStateAllocatesNothing) {
  const RotaryDims dims(32);
  const Rope<scaling::Default> rope(dims, scaling::Default(10000.0));
  const std::int64_t tokens = 64, pages = 16, page_size = 8;
  auto q = random_values<Eigen::bfloat16>(tokens * 2 * 32, 1);
  const auto k = random_values<Eigen::bfloat16>(tokens * 32, 2);
  std::vector<float8_e4m3fn> buffer(2 * pages * page_size * 32);
  const PagedKvCache<float8_e4m3fn> cache =
      PagedKvCache<float8_e4m3fn>(buffer.data(), buffer.data() + buffer.size() / 2, pages,
                                  page_size, 1, 32)
          .with_scales(0.02f, 0.02f);
  std::vector<std::int64_t> slots(tokens);
  for (std::int64_t t = 0; t < tokens; ++t)
    slots[static_cast<std::size_t>(t)] = (t * 29 + 5) % (pages * page_size);
  std::vector<std::int32_t> table(pages);
  std::iota(table.rbegin(), table.rend(), 0);
  const auto run = [&](std::int64_t n) {
    const auto qv = token_major_view(q.data(), n, 2, 32);
    const auto kv = token_major_view(k.data(), n, 1, 32);
    append_kv(rope, qv, kv, kv, cache, KvSlots::slot_mapping(slots.data(), n),
              Positions::starting_at(9));
    append_kv(rope, qv, kv, kv, cache, KvSlots::block_table(table.data(), pages),
              Positions::starting_at(9));
  };
  run(tokens);  // warm: the scratch grows to this size once
  g_allocations = 0;
  g_counting = true;
  for (std::int64_t n : {tokens, std::int64_t{5}, tokens - 1}) run(n);
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
}

}  // namespace
