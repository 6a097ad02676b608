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

// A decode step past the trained length builds its table in the call on SIMD
// paths (ω_j(L) · x^(-j/k) in double-double), a decode loop's next
// kStepBatch states at once: every state's quarter turns must match the
// definition (a powl per pair in long double) to far below what the angle
// bound needs, for lengths just past L up to the largest position, and be
// the same bits whether built alone or in a batch (first or later).
TEST(DynamicNtk, DecodeStepTablesMatchTheDefinition) {
  constexpr int kBatch = detail::kStepBatch;
  struct Setting {
    double factor;
    std::int64_t trained;
    double base;
    std::vector<std::int64_t> firsts;
  };
  // Llama-like, and a tiny trained length with a large factor, whose states
  // lie far apart (x from 1 to 1 + 32·(ℓ - 2)).
  const Setting settings[] = {
      {8.0, 4096, 500000.0, {4097, 4098, 4100, 100001, 1LL << 24, 2147483645LL}},
      {64.0, 2, 10000.0, {1, 2, 3, 5, 4097}}};
  for (const Setting& setting : settings)
    for (const std::int64_t rotary : {4, 64, 128, 256, 512}) {
      const RotaryDims dims(rotary);
      Rope<scaling::DynamicNtk> rope(
          dims, scaling::DynamicNtk(setting.factor, setting.trained, setting.base));
      const detail::AngleTable base = detail::TableAccess::angles(rope.table_for(setting.trained));
      const std::int64_t stride = dims.pairs() + 16;
      for (const std::int64_t first : setting.firsts) {
        detail::StepRoot roots[kBatch];
        detail::step_roots(rope.policy(), dims, first, kBatch, roots);
        const std::int64_t k = rope.policy().geometric_step(dims, first).root;
        for (const Isa isa : available_isas()) {
          std::vector<double> head(kBatch * stride), tail(kBatch * stride);
          detail::native_tag::with_kernel<float>(isa, [&](auto kernel) {
            decltype(kernel)::geometric_quarters(base.quarters_head, base.quarters_tail,
                                                 dims.pairs(), roots, kBatch, k, head.data(),
                                                 tail.data(), stride);
          });
          for (int b = 0; b < kBatch; ++b) {
            const FrequencyTable definition = rope.table_for(first + b);
            const detail::AngleTable want = detail::TableAccess::angles(definition);
            // The same state alone, its root from a call of its own.
            detail::StepRoot alone;
            detail::step_roots(rope.policy(), dims, first + b, 1, &alone);
            ASSERT_EQ(alone.y, roots[b].y) << "state " << first + b;
            std::vector<double> alone_head(stride), alone_tail(stride);
            detail::native_tag::with_kernel<float>(isa, [&](auto kernel) {
              decltype(kernel)::geometric_quarters(base.quarters_head, base.quarters_tail,
                                                   dims.pairs(), &alone, 1, k, alone_head.data(),
                                                   alone_tail.data(), stride);
            });
            for (std::int64_t j = 0; j < dims.pairs(); ++j) {
              const double got_head = head[b * stride + j], got_tail = tail[b * stride + j];
              const long double got = static_cast<long double>(got_head) + got_tail;
              const long double ref =
                  static_cast<long double>(want.quarters_head[j]) + want.quarters_tail[j];
              // 2^-60 relative: at position 2^31 an angle error below 1e-9 rad.
              ASSERT_LE(std::fabs(got - ref), 0x1p-60L * ref + 0x1p-100L)
                  << isa_name(isa) << " rotary " << rotary << " length " << first + b << " pair "
                  << j;
              ASSERT_EQ(got_head, alone_head[j]) << isa_name(isa) << " state " << first + b;
              ASSERT_EQ(got_tail, alone_tail[j]) << isa_name(isa) << " state " << first + b;
            }
          }
        }
      }
    }
}

// A decode loop (one position per call, in order: batches of step tables)
// gives the same bits as each of its calls made alone on a fresh Rope (one
// table each), on every path.
TEST(DynamicNtk, DecodeLoopMatchesSingleCallsBitForBit) {
  const RotaryDims dims(128);
  const auto input = random_values<float>(8 * 128, 13);
  for (const Isa isa : available_isas()) {
    ScopedIsa forced(isa);
    Rope<scaling::DynamicNtk> loop(dims, scaling::DynamicNtk(4.0, 4096, 500000.0));
    for (std::int64_t position = 5000; position < 5000 + 3 * detail::kStepBatch + 1; ++position) {
      std::vector<float> got = input, want = input;
      loop.apply_q(token_major_view(got.data(), 1, 8, 128), Positions::starting_at(position));
      const Rope<scaling::DynamicNtk> fresh(dims, scaling::DynamicNtk(4.0, 4096, 500000.0));
      fresh.apply_q(token_major_view(want.data(), 1, 8, 128), Positions::starting_at(position));
      for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " position " << position << " element " << i;
    }
  }
}

// Decode steps past the trained length, one position per call as a real
// decode loop runs them, on every path against the scalar reference (which
// builds each table from the definition), through two Ropes used in turn on
// one thread (the per-thread step table must not hand one the other's).
TEST(DynamicNtk, DecodeStepsMatchTheReferenceOnEveryPath) {
  const RotaryDims dims(128);
  const auto input = random_values<float>(8 * 128, 11);
  for (const Isa isa : available_isas()) {
    Rope<scaling::DynamicNtk> a(dims, scaling::DynamicNtk(4.0, 4096, 500000.0));
    Rope<scaling::DynamicNtk> b(dims, scaling::DynamicNtk(2.0, 1024, 10000.0));
    Rope<scaling::DynamicNtk> a_ref(dims, scaling::DynamicNtk(4.0, 4096, 500000.0));
    Rope<scaling::DynamicNtk> b_ref(dims, scaling::DynamicNtk(2.0, 1024, 10000.0));
    for (std::int64_t position = 5000; position < 5040; ++position) {
      for (auto* pair : {&a, &b}) {
        Rope<scaling::DynamicNtk>& rope = *pair;
        Rope<scaling::DynamicNtk>& ref = pair == &a ? a_ref : b_ref;
        std::vector<float> got = input, want = input;
        {
          ScopedIsa forced(isa);
          rope.apply_q(token_major_view(got.data(), 1, 8, 128), Positions::starting_at(position));
        }
        {
          ScopedIsa forced(Isa::scalar);
          ref.apply_q(token_major_view(want.data(), 1, 8, 128), Positions::starting_at(position));
        }
        ASSERT_EQ(rope.state(), position + 1);
        for (std::size_t i = 0; i < got.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 4e-7 * (std::fabs(want[i]) + 1.0f))
              << isa_name(isa) << " position " << position << " element " << i;
      }
    }
  }
}

// Assigning another policy to a Rope must not let it reuse the decode step
// table the per-thread slot kept for its old policy at the same length.
TEST(DynamicNtk, AssignmentForgetsTheOldStepTable) {
  const RotaryDims dims(128);
  const auto input = random_values<float>(8 * 128, 12);
  for (const Isa isa : available_isas()) {
    ScopedIsa forced(isa);
    Rope<scaling::DynamicNtk> rope(dims, scaling::DynamicNtk(4.0, 4096, 500000.0));
    std::vector<float> scratch = input;
    rope.apply_q(token_major_view(scratch.data(), 1, 8, 128), Positions::starting_at(5000));
    rope = Rope<scaling::DynamicNtk>(dims, scaling::DynamicNtk(2.0, 1024, 10000.0));
    const Rope<scaling::DynamicNtk> fresh(dims, scaling::DynamicNtk(2.0, 1024, 10000.0));
    std::vector<float> got = input, want = input;
    rope.apply_q(token_major_view(got.data(), 1, 8, 128), Positions::starting_at(5000));
    fresh.apply_q(token_major_view(want.data(), 1, 8, 128), Positions::starting_at(5000));
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " element " << i;
  }
}

}  // namespace
