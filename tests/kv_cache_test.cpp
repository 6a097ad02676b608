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
// - bad slots and shapes are rejected before anything is written;
// - the duplicate check allocates nothing once warm.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "bad_call.hpp"
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
    {36, 20, 3, 5, 5, 9, Placement::padded},  // 10 pairs, 16 channels copied
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

// Bad calls: rejected naming the parameter and value, before anything is
// written (every buffer compared whole afterwards).
struct Canvas {
  static constexpr std::int64_t kT = 4, kD = 16, kPages = 6, kPage = 4;
  std::vector<float> q = random_values<float>(kT * 2 * kD, 1),
                     k = random_values<float>(kT * 2 * kD, 2),
                     v = random_values<float>(kT * 2 * kD, 3);
  std::vector<Eigen::bfloat16> cache =
      std::vector<Eigen::bfloat16>(2 * kPages * kPage * kD, Eigen::bfloat16(-7.0f));
  std::vector<float8_e5m2> cache8 =
      std::vector<float8_e5m2>(2 * kPages * kPage * kD, float8_e5m2(-7.0f));
  float scales[2] = {0.5f, 0.0f};

  HeadView<float> qv(std::int64_t tokens = kT, std::int64_t dim = kD) {
    return token_major_view(q.data(), tokens, 2, dim);
  }
  HeadView<float> kv(std::int64_t tokens = kT, std::int64_t heads = 1, std::int64_t dim = kD) {
    return token_major_view(k.data(), tokens, heads, dim);
  }
  HeadView<float> vv(std::int64_t tokens = kT, std::int64_t heads = 1) {
    return token_major_view(v.data(), tokens, heads, kD);
  }
  PagedKvCache<Eigen::bfloat16> bf16(std::int64_t heads = 1, std::int64_t dim = kD) {
    return PagedKvCache<Eigen::bfloat16>(cache.data(), cache.data() + cache.size() / 2,
                                         kPages * kD / (heads * dim), kPage, heads, dim);
  }
  PagedKvCache<float8_e5m2> fp8() {
    return PagedKvCache<float8_e5m2>(cache8.data(), cache8.data() + cache8.size() / 2, kPages,
                                     kPage, 1, kD);
  }
  bool same(const Canvas& o) const {
    return bytes_equal(q, o.q) && bytes_equal(k, o.k) && bytes_equal(v, o.v) &&
           bytes_equal(cache, o.cache) && bytes_equal(cache8, o.cache8);
  }
};

using BadCall = ropekit_test::BadCall<Canvas>;

const Rope<scaling::Default> kRope(RotaryDims(16), scaling::Default(10000.0));
const Positions kAt = Positions::starting_at(3);
const std::int32_t kSlots[4] = {0, 5, 9, 22};
const std::int32_t kTable[2] = {3, 0};
const KvSlots kMapping = KvSlots::slot_mapping(kSlots, 4);

void append(Canvas& c, const KvSlots& slots, const Positions& at = kAt) {
  append_kv(kRope, c.qv(), c.kv(), c.vv(), c.bf16(), slots, at);
}

std::vector<BadCall> rows() {
  static const std::int32_t high[4] = {0, 5, 96, 22}, negative[4] = {0, -1, 9, 22},
                            dup[4] = {7, 5, 9, 5}, aliasing[2] = {2, 2}, far[2] = {3, 9};
  static const std::int64_t repeated_positions[4] = {1, 2, 1, 3}, mrope[12] = {0};
  return {
      {"slot_high",
       {"slot_mapping[2] = 96", "[0, 24)"},
       [](Canvas& c) { append(c, KvSlots::slot_mapping(high, 4)); }},
      {"slot_negative",
       {"slot_mapping[1] = -1"},
       [](Canvas& c) { append(c, KvSlots::slot_mapping(negative, 4)); }},
      {"slot_duplicate",
       {"slot_mapping[3] = 5", "repeats slot_mapping[1]"},
       [](Canvas& c) { append(c, KvSlots::slot_mapping(dup, 4)); }},
      {"slot_count",
       {"slot_mapping count = 3", "number of tokens, 4"},
       [](Canvas& c) { append(c, KvSlots::slot_mapping(kSlots, 3)); }},
      {"slot_count_negative",
       {"slot_mapping count = -2"},
       [](Canvas& c) { append(c, KvSlots::slot_mapping(kSlots, -2)); }},
      {"slot_null",
       {"slot_mapping = nullptr"},
       [](Canvas& c) {
         append(c, KvSlots::slot_mapping(static_cast<const std::int64_t*>(nullptr), 4));
       }},
      {"table_past_end",
       {"position id [2] = 8", "block 2 of 2"},
       [](Canvas& c) { append(c, KvSlots::block_table(kTable, 2), Positions::starting_at(6)); }},
      {"table_page_out_of_range",
       {"block_table[1] = 9", "pages = 6"},
       [](Canvas& c) { append(c, KvSlots::block_table(far, 2), Positions::starting_at(2)); }},
      {"table_repeated_position",
       {"position id [2] = 1", "as position id [0] = 1"},
       [](Canvas& c) {
         append(c, KvSlots::block_table(kTable, 2), Positions(repeated_positions, 4));
       }},
      {"table_aliased_pages",
       {"position id [3] = 5", "as position id [0] = 1"},
       [](Canvas& c) {
         static const std::int64_t ids[4] = {1, 2, 3, 5};
         append(c, KvSlots::block_table(aliasing, 2), Positions(ids, 4));
       }},
      {"table_multimodal_positions",
       {"positions axes = 3"},
       [](Canvas& c) {
         append(c, KvSlots::block_table(kTable, 2), Positions::multi_axis(mrope, 3, 4, 4));
       }},
      {"table_negative_position",
       {"position id [1] = -4"},
       [](Canvas& c) {
         static const std::int64_t ids[4] = {1, -4, 3, 5};
         append(c, KvSlots::block_table(kTable, 2), Positions(ids, 4));
       }},
      {"positions_count",
       {"positions count = 2"},
       [](Canvas& c) { append(c, kMapping, Positions(kSlots, 2)); }},
      {"k_head_dim",
       {"k_cache.head_dim = 16", "k.head_dim = 8"},
       [](Canvas& c) { append_kv(kRope, c.qv(), c.kv(4, 1, 8), c.vv(), c.bf16(), kMapping, kAt); }},
      {"cache_head_dim",
       {"k_cache.head_dim = 8", "k.head_dim = 16"},
       [](Canvas& c) { append_kv(kRope, c.qv(), c.kv(), c.vv(), c.bf16(1, 8), kMapping, kAt); }},
      {"cache_kv_heads",
       {"k_cache.heads = 2", "k.heads = 1"},
       [](Canvas& c) { append_kv(kRope, c.qv(), c.kv(), c.vv(), c.bf16(2), kMapping, kAt); }},
      {"v_heads",
       {"v_cache.heads = 1", "v.heads = 2"},
       [](Canvas& c) { append_kv(kRope, c.qv(), c.kv(), c.vv(4, 2), c.bf16(), kMapping, kAt); }},
      {"k_tokens",
       {"k.tokens = 3", "q.tokens = 4"},
       [](Canvas& c) { append_kv(kRope, c.qv(), c.kv(3), c.vv(), c.bf16(), kMapping, kAt); }},
      {"v_tokens",
       {"v.tokens = 2", "q.tokens = 4"},
       [](Canvas& c) { append_kv(kRope, c.qv(), c.kv(), c.vv(2), c.bf16(), kMapping, kAt); }},
      {"k_inside_cache",
       {"k_cache = ", "overlaps k"},
       [](Canvas& c) {
         auto* inside = reinterpret_cast<float*>(c.cache.data());
         append_kv(kRope, c.qv(), token_major_view(inside, 4, 1, 16), c.vv(), c.bf16(), kMapping,
                   kAt);
       }},
      {"q_inside_v_cache",
       {"v_cache = ", "overlaps q"},
       [](Canvas& c) {
         auto* inside = reinterpret_cast<float*>(c.cache.data() + c.cache.size() / 2);
         append_kv(kRope, token_major_view(inside, 4, 2, 16), c.kv(), c.vv(), c.bf16(), kMapping,
                   kAt);
       }},
      {"v_cache_is_k_cache",
       {"v_cache = ", "overlaps k_cache"},
       [](Canvas& c) {
         const PagedKvCache<Eigen::bfloat16> same(c.cache.data(), c.cache.data() + 16, 6, 4, 1, 16);
         append_kv(kRope, c.qv(), c.kv(), c.vv(), same, kMapping, kAt);
       }},
      {"fp8_k_head_scale_zero",
       {"k_cache.head_scales[1] = 0"},
       [](Canvas& c) {
         static const float fine[1] = {1.0f};
         static const std::int32_t slots[4] = {0, 5, 9, 11};
         append_kv(kRope, c.qv(), c.kv(4, 2), c.vv(4, 2),
                   PagedKvCache<float8_e5m2>(c.cache8.data(), c.cache8.data() + c.cache8.size() / 2,
                                             3, 4, 2, 16)
                       .with_head_scales(c.scales, fine),
                   KvSlots::slot_mapping(slots, 4), kAt);
       }},
      {"fp8_v_head_scale_nan",
       {"v_cache.head_scales[0] = nan"},
       [](Canvas& c) {
         static const float fine[1] = {1.0f};
         c.scales[0] = std::nanf("");
         append_kv(kRope, c.qv(), c.kv(), c.vv(), c.fp8().with_head_scales(fine, c.scales),
                   kMapping, kAt);
       }},
      {"fp8_k_scale_zero",
       {"k_scale = 0"},
       [](Canvas& c) { (void)c.fp8().with_scales(0.0f, 1.0f); }},
      {"fp8_v_scale_inf",
       {"v_scale = inf"},
       [](Canvas& c) { (void)c.fp8().with_scales(1.0f, std::numeric_limits<float>::infinity()); }},
      {"fp8_head_scales_null",
       {"v_head_scales = nullptr"},
       [](Canvas& c) { (void)c.fp8().with_head_scales(c.scales, nullptr); }},
      {"cache_pages_zero",
       {"pages = 0"},
       [](Canvas& c) {
         PagedKvCache<Eigen::bfloat16>(c.cache.data(), c.cache.data() + 96, 0, 4, 1, 16);
       }},
      {"cache_page_size_negative",
       {"page_size = -4"},
       [](Canvas& c) {
         PagedKvCache<Eigen::bfloat16>(c.cache.data(), c.cache.data() + 96, 6, -4, 1, 16);
       }},
      {"cache_kv_heads_zero",
       {"kv_heads = 0"},
       [](Canvas& c) {
         PagedKvCache<Eigen::bfloat16>(c.cache.data(), c.cache.data() + 96, 6, 4, 0, 16);
       }},
      {"cache_head_dim_zero",
       {"head_dim = 0"},
       [](Canvas& c) {
         PagedKvCache<Eigen::bfloat16>(c.cache.data(), c.cache.data() + 96, 6, 4, 1, 0);
       }},
      {"cache_layout",
       {"layout = 7"},
       [](Canvas& c) {
         PagedKvCache<Eigen::bfloat16>(c.cache.data(), c.cache.data() + 96, 6, 4, 1, 16,
                                       static_cast<KvLayout>(7));
       }},
      {"cache_page_stride",
       {"page_stride = 10", "page_size * kv_heads * head_dim = 64"},
       [](Canvas& c) {
         PagedKvCache<Eigen::bfloat16>(c.cache.data(), c.cache.data() + 96, 6, 4, 1, 16,
                                       KvLayout::nhd, 10);
       }},
      {"cache_page_overflow",
       {"page_size = 4611686018427387904", "overflows"},
       [](Canvas& c) {
         PagedKvCache<Eigen::bfloat16>(c.cache.data(), c.cache.data() + 96, 6,
                                       std::int64_t{1} << 62, 1, 16);
       }},
      {"cache_pages_overflow",
       {"pages = 4611686018427387904", "overflows"},
       [](Canvas& c) {
         PagedKvCache<Eigen::bfloat16>(c.cache.data(), c.cache.data() + 96, std::int64_t{1} << 62,
                                       4, 1, 16);
       }},
      {"cache_k_null",
       {"k_cache = nullptr"},
       [](Canvas& c) { PagedKvCache<Eigen::bfloat16>(nullptr, c.cache.data(), 6, 4, 1, 16); }},
      {"cache_v_misaligned",
       {"v_cache = ", "not aligned"},
       [](Canvas& c) {
         auto* odd =
             reinterpret_cast<Eigen::bfloat16*>(reinterpret_cast<char*>(c.cache.data()) + 201);
         PagedKvCache<Eigen::bfloat16>(c.cache.data(), odd, 1, 4, 1, 16);
       }},
      {"cache_page_view", {"page = 6", "pages = 6"}, [](Canvas& c) { (void)c.bf16().k_page(6); }},
      {"table_form_pairs",
       {"table pairs = 8", "rotary_dim / 2 = 4"},
       [](Canvas& c) {
         append_kv<neox>(kRope.table(), RotaryDims(16, 8), c.qv(), c.kv(), c.vv(), c.bf16(),
                         kMapping, kAt);
       }},
      {"any_rope_q_head_dim",
       {"q.head_dim = 8"},
       [](Canvas& c) {
         const AnyRope any(RotaryDims(16), gptj, scaling::Default(10000.0));
         append_kv(any, c.qv(4, 8), c.kv(), c.vv(), c.bf16(), kMapping, kAt);
       }},
  };
}

class AppendKvBadInput : public ::testing::TestWithParam<BadCall> {};

// Rows may edit the scales they pass; the buffers must be as they were.
TEST_P(AppendKvBadInput, RejectedNamingTheParameterAndWritingNothing) {
  expect_rejected_writing_nothing(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Rows, AppendKvBadInput, ::testing::ValuesIn(rows()),
                         bad_call_name<Canvas>);

}  // namespace
