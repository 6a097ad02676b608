// SPDX-License-Identifier: Apache-2.0
// LongRoPE against float32 values computed as transformers'
// `_compute_longrope_parameters` computes them (synthetic λ_j = 1 + 3j/63)
// and an independent derivation; the attention factor and its
// precedence; transformers' per-call short/long switch through
// Rope::apply; fixed selections; re-rotating cached keys across the switch;
// and every rejected parameter, list lengths included.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;
using scaling::LongRope;
using Factors = LongRope::Factors;


// The reference's synthetic long factors λ_j = 1 + 3j/63 (d = 128), and
// short factors 1 + j/630 so the two tables differ everywhere but j = 0.
std::vector<double> synthetic_long(std::int64_t pairs = 64) {
  std::vector<double> v;
  for (std::int64_t j = 0; j < pairs; ++j) v.push_back(1.0 + 3.0 * static_cast<double>(j) / 63.0);
  return v;
}
std::vector<double> synthetic_short(std::int64_t pairs = 64) {
  std::vector<double> v;
  for (std::int64_t j = 0; j < pairs; ++j) v.push_back(1.0 + static_cast<double>(j) / 630.0);
  return v;
}

// Phi-3-mini-128k shape: L0 4096, max 131072 (s = 32).
LongRope::Params phi3_params(std::int64_t pairs = 64) {
  LongRope::Params p;
  p.short_factor = synthetic_short(pairs);
  p.long_factor = synthetic_long(pairs);
  p.original_max_position_embeddings = 4096;
  p.max_position_embeddings = 131072;
  return p;
}

std::vector<long double> longrope_oracle(std::int64_t d, long double base,
                                         const std::vector<double>& lambda) {
  std::vector<long double> out;
  for (std::int64_t j = 0; j < d / 2; ++j)
    out.push_back(1.0L / (static_cast<long double>(lambda[j]) * std::pow(base, 2.0L * j / d)));
  return out;
}

void expect_matches_oracle(const std::vector<double>& actual,
                           const std::vector<long double>& oracle) {
  ASSERT_EQ(actual.size(), oracle.size());
  for (std::size_t j = 0; j < oracle.size(); ++j)
    EXPECT_NEAR(actual[j], static_cast<double>(oracle[j]), 1e-15 * static_cast<double>(oracle[j]))
        << "j=" << j;
}

// Reference ω are float32 (transformers' arithmetic): relative 1e-6.
TEST(LongRope, WorkedInverseFrequencies) {
  Rope<LongRope> rope(RotaryDims(128), LongRope(phi3_params()));
  const auto long_table = rope.table_for(Factors::long_factors);
  for (const auto& [j, w] : std::vector<std::pair<int, double>>{{1, 8.266022801e-01},
                                                                {2, 6.846860051e-01},
                                                                {31, 4.663542379e-03},
                                                                {32, 3.962264396e-03},
                                                                {62, 3.373969957e-05},
                                                                {63, 2.886955190e-05}})
    EXPECT_NEAR(long_table.inv_freq()[j], w, 1e-6 * w) << j;
  expect_matches_oracle(long_table.inv_freq(), longrope_oracle(128, 1e4L, synthetic_long()));
  expect_matches_oracle(rope.table_for(Factors::short_factors).inv_freq(),
                        longrope_oracle(128, 1e4L, synthetic_short()));
  // λ_63 = 4: the last pair is exactly linear-interpolated by 4.
  EXPECT_NEAR(long_table.inv_freq()[63], std::pow(1e4, -126.0 / 128.0) / 4, 1e-20);
}

// m = sqrt(1 + ln s / ln L0) (transformers `_compute_longrope_parameters`,
// Ding et al. 2024); the same for both lists.
TEST(LongRope, AttentionFactor) {
  const struct {
    std::int64_t max_pos, trained;
    double m;
  } rows[] = {{16384, 4096, 1.080123450}, {131072, 4096, 1.190238071}, {131072, 8192, 1.143543750}};
  for (const auto& r : rows) {
    auto p = phi3_params();
    p.max_position_embeddings = r.max_pos;
    p.original_max_position_embeddings = r.trained;
    const LongRope policy(p);
    EXPECT_NEAR(policy.attention_factor(), r.m, 1e-9) << r.max_pos << "/" << r.trained;
    const long double s = static_cast<long double>(r.max_pos) / r.trained;
    EXPECT_NEAR(policy.attention_factor(),
                static_cast<double>(
                    std::sqrt(1 + std::log(s) / std::log(static_cast<long double>(r.trained)))),
                1e-15);
    Rope<LongRope> rope(RotaryDims(128), policy);
    EXPECT_EQ(rope.table_for(Factors::short_factors).attention_factor(), policy.attention_factor());
    EXPECT_EQ(rope.table_for(Factors::long_factors).attention_factor(), policy.attention_factor());
  }
  // 16384/4096: sqrt(1 + ln 4 / ln 4096) = sqrt(1 + 2/12) = sqrt(7/6).
  auto p = phi3_params();
  p.max_position_embeddings = 16384;
  EXPECT_NEAR(LongRope(p).attention_factor(), std::sqrt(7.0 / 6.0), 1e-15);
  // An explicit factor takes precedence over max_position_embeddings / L0.
  p.max_position_embeddings = 131072;
  p.factor = 4.0;
  EXPECT_EQ(LongRope(p).factor(), 4.0);
  EXPECT_NEAR(LongRope(p).attention_factor(), std::sqrt(7.0 / 6.0), 1e-15);
  // s <= 1: no scaling.
  p.factor = 1.0;
  EXPECT_EQ(LongRope(p).attention_factor(), 1.0);
  p.factor = 0.5;
  EXPECT_EQ(LongRope(p).attention_factor(), 1.0);
  // An explicit attention factor wins; then neither s source is needed.
  p.factor.reset();
  p.max_position_embeddings = 0;
  p.attention_factor = 1.25;
  EXPECT_EQ(LongRope(p).attention_factor(), 1.25);
  EXPECT_EQ(Rope<LongRope>(RotaryDims(128), LongRope(p)).attention_factor(), 1.25);
}

std::vector<float> call_at(Rope<LongRope>& rope, std::int64_t first, std::int64_t tokens) {
  std::vector<float> q(static_cast<std::size_t>(tokens * 128), 0.5f);
  rope.apply_q(token_major_view(q.data(), tokens, 1, 128), Positions::starting_at(first));
  return q;
}

// transformers' `longrope_frequency_update`: long iff the call's largest
// position + 1 > L0, short otherwise, switching in both directions; the
// crossing call itself already uses the long table.
TEST(LongRope, PerCallSwitchThroughApply) {
  Rope<LongRope> rope(RotaryDims(128), LongRope(phi3_params()));
  const auto short_freq = rope.table_for(Factors::short_factors).inv_freq();
  const auto long_freq = rope.table_for(Factors::long_factors).inv_freq();
  EXPECT_EQ(rope.state(), Factors::short_factors);  // transformers initialises short
  EXPECT_EQ(rope.inv_freq(), short_freq);
  call_at(rope, 0, 100);
  EXPECT_EQ(rope.state(), Factors::short_factors);
  call_at(rope, 4095, 1);  // seq_len 4096 == L0: not past it
  EXPECT_EQ(rope.state(), Factors::short_factors);
  // Prefill 4000..4199 crosses L0: every token of this call rotates long.
  const auto crossing = call_at(rope, 4000, 200);
  EXPECT_EQ(rope.state(), Factors::long_factors);
  EXPECT_EQ(rope.inv_freq(), long_freq);
  std::vector<float> expected(200 * 128, 0.5f);
  rotate<neox>(rope.table_for(Factors::long_factors), rope.dims(),
               token_major_view(expected.data(), 200, 1, 128), Positions::starting_at(4000));
  EXPECT_TRUE(bytes_equal(crossing, expected));
  call_at(rope, 5000, 1);
  EXPECT_EQ(rope.state(), Factors::long_factors);
  call_at(rope, 10, 5);  // a short call switches back (transformers does too)
  EXPECT_EQ(rope.state(), Factors::short_factors);
  EXPECT_EQ(rope.inv_freq(), short_freq);
  // Explicit ids: the largest one decides, wherever it sits.
  std::vector<float> q(3 * 128, 0.5f);
  const std::int32_t ids[3] = {7, 4096, 12};
  rope.apply_q(token_major_view(q.data(), 3, 1, 128), Positions(ids, 3));
  EXPECT_EQ(rope.state(), Factors::long_factors);
  // A rejected call changes nothing.
  const std::int64_t bad[2] = {1, -1};
  EXPECT_THROW(rope.apply_q(token_major_view(q.data(), 2, 1, 128), Positions(bad, 2)),
               std::invalid_argument);
  EXPECT_EQ(rope.state(), Factors::long_factors);
}

// vLLM / llama.cpp style: one list per deployment, whatever the positions.
TEST(LongRope, FixedSelection) {
  auto p = phi3_params();
  p.selection = LongRope::Selection::always_long;
  Rope<LongRope> long_rope(RotaryDims(128), LongRope(p));
  EXPECT_EQ(long_rope.state(), Factors::long_factors);
  call_at(long_rope, 0, 10);
  EXPECT_EQ(long_rope.state(), Factors::long_factors);
  EXPECT_EQ(long_rope.inv_freq(), long_rope.table_for(Factors::long_factors).inv_freq());

  p.selection = LongRope::Selection::always_short;
  Rope<LongRope> short_rope(RotaryDims(128), LongRope(p));
  EXPECT_EQ(short_rope.state(), Factors::short_factors);
  call_at(short_rope, 100000, 1);
  EXPECT_EQ(short_rope.state(), Factors::short_factors);
  EXPECT_EQ(short_rope.inv_freq(), short_rope.table_for(Factors::short_factors).inv_freq());
}

// Keys prefilled with the short table can be moved to the long table exactly
// (instead of transformers' re-prefill, PR #33129).
TEST(LongRope, ReRotatingCachedKeysAcrossTheSwitch) {
  Rope<LongRope> rope(RotaryDims(128), LongRope(phi3_params()));
  const std::int64_t prompt = 64;
  const auto keys = random_values<double>(prompt * 128, 9);
  auto cache = keys;
  const auto view = token_major_view(cache.data(), prompt, 1, 128);
  const std::int64_t first = 4096 - prompt;  // positions 4032..4095: still short
  rope.apply_k(view, Positions::starting_at(first));
  ASSERT_EQ(rope.state(), Factors::short_factors);
  call_at(rope, 4096, 1);  // decoding past L0 switches to long
  ASSERT_EQ(rope.state(), Factors::long_factors);
  rotate_inverse<neox>(rope.table_for(Factors::short_factors), rope.dims(), view,
                       Positions::starting_at(first));
  rotate<neox>(rope.table(), rope.dims(), view, Positions::starting_at(first));
  auto fresh = keys;
  rotate<neox>(rope.table(), rope.dims(), token_major_view(fresh.data(), prompt, 1, 128),
               Positions::starting_at(first));
  for (std::size_t i = 0; i < cache.size(); ++i) ASSERT_NEAR(cache[i], fresh[i], 1e-14) << i;
}

// Partial rotary (Phi-4-mini: head 128, rotary 96): one factor per rotary
// pair, 48, not head_dim/2 (apache/tvm PR #18102).
TEST(LongRope, PartialRotaryListLength) {
  Rope<LongRope> rope(RotaryDims(128, 96), LongRope(phi3_params(48)));
  expect_matches_oracle(rope.table_for(Factors::long_factors).inv_freq(),
                        longrope_oracle(96, 1e4L, synthetic_long(48)));
  expect_rejected([] { Rope<LongRope>(RotaryDims(128, 96), LongRope(phi3_params(64))); },
                  {"short_factor length = 64", "rotary_dim / 2 = 48"});
}

TEST(LongRope, RejectsBadParameters) {
  const auto with = [](auto change) {
    LongRope::Params p = phi3_params();
    change(p);
    return p;
  };
  // List lengths are checked against the dims, both lists, at Rope construction.
  expect_rejected(
      [&] {
        Rope<LongRope>(RotaryDims(128),
                       LongRope(with([](LongRope::Params& p) { p.long_factor.resize(63); })));
      },
      {"long_factor length = 63", "rotary_dim / 2 = 64"});
  expect_rejected(
      [&] {
        Rope<LongRope>(RotaryDims(128),
                       LongRope(with([](LongRope::Params& p) { p.short_factor.clear(); })));
      },
      {"short_factor length = 0", "64"});
  for (double bad : {kNaN, kInf, 0.0, -1.0}) {
    expect_rejected([&] { LongRope(with([&](LongRope::Params& p) { p.long_factor[3] = bad; })); },
                    {"long_factor[3] = "});
    expect_rejected([&] { LongRope(with([&](LongRope::Params& p) { p.short_factor[0] = bad; })); },
                    {"short_factor[0] = "});
    expect_rejected([&] { LongRope(with([&](LongRope::Params& p) { p.base = bad; })); },
                    {"base = "});
    expect_rejected([&] { LongRope(with([&](LongRope::Params& p) { p.factor = bad; })); },
                    {"factor = "});
    expect_rejected([&] { LongRope(with([&](LongRope::Params& p) { p.attention_factor = bad; })); },
                    {"attention_factor = "});
  }
  expect_rejected([&] { LongRope(with([](LongRope::Params& p) { p.long_factor[5] = -2; })); },
                  {"long_factor[5] = -2"});
  for (std::int64_t bad : {1, 0, -4096})
    expect_rejected(
        [&] {
          LongRope(with([&](LongRope::Params& p) { p.original_max_position_embeddings = bad; }));
        },
        {("original_max_position_embeddings = " + std::to_string(bad)).c_str()});
  expect_rejected(
      [&] { LongRope(with([](LongRope::Params& p) { p.max_position_embeddings = -1; })); },
      {"max_position_embeddings = -1"});
  // Without factor, attention_factor or max_position_embeddings there is no s.
  expect_rejected(
      [&] { LongRope(with([](LongRope::Params& p) { p.max_position_embeddings = 0; })); },
      {"max_position_embeddings = 0", "factor"});
  EXPECT_NO_THROW(LongRope(with([](LongRope::Params& p) {
    p.max_position_embeddings = 0;
    p.factor = 32.0;
  })));
  expect_rejected(
      [&] {
        LongRope(
            with([](LongRope::Params& p) { p.selection = static_cast<LongRope::Selection>(7); }));
      },
      {"selection = 7"});
}

}  // namespace
