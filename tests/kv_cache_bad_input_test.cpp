// SPDX-License-Identifier: Apache-2.0
// append_kv's bad calls: every row is rejected with std::invalid_argument
// naming the parameter and its value, before anything is written (q, k, v
// and both caches compared whole afterwards).
#include <ropekit/ropekit.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bad_call.hpp"
#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;
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
