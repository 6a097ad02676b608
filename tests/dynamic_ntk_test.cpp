// SPDX-License-Identifier: Apache-2.0
// Dynamic NTK follows transformers' per-forward update rule: grow when a call
// reaches past the cached length, reset after dropping below the trained
// length, otherwise keep; and the KV-cache re-rotation recipe works.
#include <gtest/gtest.h>

#include <vector>

#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

constexpr std::int64_t kTrained = 4096;

std::int64_t call_at(Rope<scaling::DynamicNtk>& rope, std::int64_t last_position) {
  std::vector<float> q(128, 0.5f);
  rope.apply_q(token_major_view(q.data(), 1, 1, 128), Positions::starting_at(last_position));
  return rope.state();
}

TEST(DynamicNtk, UpdateRuleMatchesTransformers) {
  Rope<scaling::DynamicNtk> rope(RotaryDims(128), scaling::DynamicNtk(4.0, kTrained));
  const auto base_freq = rope.inv_freq();
  EXPECT_EQ(rope.state(), kTrained);
  EXPECT_EQ(call_at(rope, 100), kTrained);      // short: unchanged
  EXPECT_EQ(rope.inv_freq(), base_freq);
  EXPECT_EQ(call_at(rope, 4999), 5000);         // growth: seq_len = position + 1
  EXPECT_NEAR(rope.inv_freq()[1], 8.573101759e-01, 1e-6);  // reference is float32
  EXPECT_EQ(call_at(rope, 4500), 5000);         // shorter but >= trained: keep
  EXPECT_EQ(call_at(rope, 8191), 8192);         // grows again
  EXPECT_NEAR(rope.inv_freq()[63], 2.309563752e-05, 2.4e-11);
  EXPECT_EQ(call_at(rope, 4095), 8192);         // seq_len == trained: not below, keep
  EXPECT_EQ(call_at(rope, 10), kTrained);       // below trained: reset
  EXPECT_EQ(rope.inv_freq(), base_freq);
}

TEST(DynamicNtk, ExplicitIdsUseLargestPosition) {
  Rope<scaling::DynamicNtk> rope(RotaryDims(128), scaling::DynamicNtk(4.0, kTrained));
  std::vector<float> q(3 * 128, 0.5f);
  const std::int32_t ids[3] = {7000, 12, 9000};
  rope.apply_q(token_major_view(q.data(), 3, 1, 128), Positions(ids, 3));
  EXPECT_EQ(rope.state(), 9001);
}

// Keys cached before the base grew carry the old rotation (transformers
// #25104). Un-rotating them with the old table and re-rotating with the new
// one gives what a fresh rotation with the new table gives.
TEST(DynamicNtk, ReRotatingCachedKeys) {
  Rope<scaling::DynamicNtk> rope(RotaryDims(64), scaling::DynamicNtk(2.0, 256));
  const auto keys = random_values<double>(300 * 64, 5);
  auto cache = keys;
  const auto view = token_major_view(cache.data(), 300, 1, 64);
  rope.apply_k(view.token_range(0, 200), Positions::starting_at(0));  // prefill
  const FrequencyTable old_table = rope.table();
  rope.apply_k(view.token_range(200, 100), Positions::starting_at(200));  // grows to 300
  ASSERT_EQ(rope.state(), 300);
  rotate_inverse<neox>(old_table, rope.dims(), view.token_range(0, 200), Positions::starting_at(0));
  rotate<neox>(rope.table(), rope.dims(), view.token_range(0, 200), Positions::starting_at(0));
  auto fresh = keys;
  rotate<neox>(rope.table(), rope.dims(), token_major_view(fresh.data(), 300, 1, 64),
               Positions::starting_at(0));
  for (std::size_t i = 0; i < cache.size(); ++i) ASSERT_NEAR(cache[i], fresh[i], 1e-14);
  // and the old rotation really was different
  auto stale = keys;
  rotate<neox>(old_table, rope.dims(), token_major_view(stale.data(), 300, 1, 64),
               Positions::starting_at(0));
  EXPECT_GT(std::fabs(stale[199 * 64 + 20] - fresh[199 * 64 + 20]), 1e-3);
}

}  // namespace
