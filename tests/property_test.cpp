// SPDX-License-Identifier: Apache-2.0
// Properties every policy must have, for every storage type and layout:
// norms scale by the attention factor, q.k depends only on the position
// difference, inverse undoes apply, the partial-rotary tail is untouched,
// strided and fused views equal contiguous buffers, and reduced-precision
// results are the float result rounded once.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

template <class C>
class Properties : public ::testing::Test {};
TYPED_TEST_SUITE(Properties, AllConfigs, ConfigNames);

constexpr std::int64_t kHeadDim = 64;
constexpr std::int64_t kRotaryDim = 48;  // partial, so the tail is exercised
constexpr std::int64_t kTokens = 4;
constexpr std::int64_t kHeads = 3;
const std::int64_t kIds[kTokens] = {3, 1000000, 77, 1000000};  // repeats, any order

template <class T>
std::vector<double> as_doubles(const std::vector<T>& x) {
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = to_double(x[i]);
  return out;
}

TYPED_TEST(Properties, NormScalesByAttentionFactor) {
  using T = typename TypeParam::type;
  for (auto& handle : policy_ropes<T, TypeParam::layout>(RotaryDims(kHeadDim, kRotaryDim))) {
    auto& rope = *handle;
    auto x = random_values<T>(kTokens * kHeads * kHeadDim, 1);
    const auto before = as_doubles(x);
    rope.apply_q(token_major_view(x.data(), kTokens, kHeads, kHeadDim), Positions(kIds, kTokens));
    const auto after = as_doubles(x);
    const double m = rope.table().attention_factor();
    for (std::int64_t head = 0; head < kTokens * kHeads; ++head) {
      double rotary_before = 0, rotary_after = 0;
      for (std::int64_t i = 0; i < kRotaryDim; ++i) {
        rotary_before += before[head * kHeadDim + i] * before[head * kHeadDim + i];
        rotary_after += after[head * kHeadDim + i] * after[head * kHeadDim + i];
      }
      EXPECT_NEAR(std::sqrt(rotary_after), m * std::sqrt(rotary_before),
                  rotation_tolerance<T>(m * std::sqrt(rotary_before), 4.0))
          << rope.name() << " head " << head;
    }
  }
}

// q.k after rotation depends only on m - n: check the same offset at small
// positions and near 10^6 with one table (exact angles make this hold to
// storage precision even at 10^6).
TYPED_TEST(Properties, DotProductDependsOnlyOnRelativePosition) {
  using T = typename TypeParam::type;
  for (auto& handle : policy_ropes<T, TypeParam::layout>(RotaryDims(kHeadDim, kRotaryDim))) {
    auto& rope = *handle;
    const FrequencyTable table = rope.table();
    const auto q0 = random_values<T>(kHeadDim, 2);
    const auto k0 = random_values<T>(kHeadDim, 3);
    const auto dot_at = [&](std::int64_t m, std::int64_t n) {
      auto q = q0;
      auto k = k0;
      rotate<TypeParam::layout>(table, rope.dims(), token_major_view(q.data(), 1, 1, kHeadDim),
                                Positions::starting_at(m));
      rotate<TypeParam::layout>(table, rope.dims(), token_major_view(k.data(), 1, 1, kHeadDim),
                                Positions::starting_at(n));
      double dot = 0;
      for (std::int64_t i = 0; i < kRotaryDim; ++i) dot += to_double(q[i]) * to_double(k[i]);
      return dot;
    };
    double scale = 0;  // sum |q_i||k_i| bounds the rounding error of the dot
    for (std::int64_t i = 0; i < kRotaryDim; ++i)
      scale += 4.0 * std::fabs(to_double(q0[i])) * std::fabs(to_double(k0[i])) + 1.0;
    const double m2 = table.attention_factor() * table.attention_factor();
    for (std::int64_t delta : {0, 1, 5, 1000}) {
      const double near_zero = dot_at(10 + delta, 10);
      const double near_million = dot_at(999983 + delta, 999983);
      EXPECT_NEAR(near_million, near_zero, rotation_tolerance<T>(scale * m2, 8.0))
          << rope.name() << " delta " << delta;
    }
  }
}

TYPED_TEST(Properties, InverseUndoesApply) {
  using T = typename TypeParam::type;
  for (auto& handle : policy_ropes<T, TypeParam::layout>(RotaryDims(kHeadDim, kRotaryDim))) {
    auto& rope = *handle;
    auto q = random_values<T>(kTokens * kHeads * kHeadDim, 4);
    auto k = random_values<T>(kTokens * 1 * kHeadDim, 5);
    const auto q0 = q, k0 = k;
    const auto qv = token_major_view(q.data(), kTokens, kHeads, kHeadDim);
    const auto kv = token_major_view(k.data(), kTokens, 1, kHeadDim);
    rope.apply(qv, kv, Positions(kIds, kTokens));
    EXPECT_FALSE(bytes_equal(q, q0));
    rope.apply_inverse(qv, kv, Positions(kIds, kTokens));
    // Two roundings to T, each at most half an ulp of a pair's magnitude.
    const double tol = rotation_tolerance<T>(2.0 * std::sqrt(2.0));
    for (std::size_t i = 0; i < q.size(); ++i)
      ASSERT_NEAR(to_double(q[i]), to_double(q0[i]), tol) << rope.name() << " q " << i;
    for (std::size_t i = 0; i < k.size(); ++i)
      ASSERT_NEAR(to_double(k[i]), to_double(k0[i]), tol) << rope.name() << " k " << i;
  }
}

TYPED_TEST(Properties, PartialRotaryTailIsUntouched) {
  using T = typename TypeParam::type;
  for (auto& handle : policy_ropes<T, TypeParam::layout>(RotaryDims(kHeadDim, kRotaryDim))) {
    auto& rope = *handle;
    auto x = random_values<T>(kTokens * kHeads * kHeadDim, 6);
    const auto x0 = x;
    rope.apply_q(token_major_view(x.data(), kTokens, kHeads, kHeadDim), Positions(kIds, kTokens));
    bool rotary_changed = false;
    for (std::int64_t head = 0; head < kTokens * kHeads; ++head) {
      for (std::int64_t i = 0; i < kHeadDim; ++i) {
        const auto at = static_cast<std::size_t>(head * kHeadDim + i);
        if (i >= kRotaryDim)
          ASSERT_EQ(std::memcmp(&x[at], &x0[at], sizeof(T)), 0) << rope.name() << " " << i;
        else
          rotary_changed |= std::memcmp(&x[at], &x0[at], sizeof(T)) != 0;
      }
    }
    EXPECT_TRUE(rotary_changed);
  }
}

// The same heads reached through head-major (BHSD), padded-stride and fused
// QKV views rotate bit-for-bit like a contiguous buffer.
TYPED_TEST(Properties, StridedAndFusedViewsMatchContiguous) {
  using T = typename TypeParam::type;
  for (auto& handle : policy_ropes<T, TypeParam::layout>(RotaryDims(kHeadDim, kRotaryDim))) {
    auto& rope = *handle;
    const std::int64_t q_heads = kHeads, kv_heads = 2;
    auto q = random_values<T>(kTokens * q_heads * kHeadDim, 7);
    auto k = random_values<T>(kTokens * kv_heads * kHeadDim, 8);
    const auto at = [](std::int64_t t, std::int64_t h, std::int64_t heads) {
      return static_cast<std::size_t>((t * heads + h) * kHeadDim);
    };
    // Fused rows [q | k | v] with 5 elements of padding per row.
    const std::int64_t row = (q_heads + 2 * kv_heads) * kHeadDim + 5;
    std::vector<T> fused(static_cast<std::size_t>(kTokens * row), T(9.0f));
    // Head-major copies [heads, tokens, head_dim].
    std::vector<T> q_bhsd(q.size()), k_bhsd(k.size());
    for (std::int64_t t = 0; t < kTokens; ++t) {
      for (std::int64_t h = 0; h < q_heads; ++h)
        for (std::int64_t i = 0; i < kHeadDim; ++i) {
          fused[t * row + h * kHeadDim + i] = q[at(t, h, q_heads) + i];
          q_bhsd[(h * kTokens + t) * kHeadDim + i] = q[at(t, h, q_heads) + i];
        }
      for (std::int64_t h = 0; h < kv_heads; ++h)
        for (std::int64_t i = 0; i < kHeadDim; ++i) {
          fused[t * row + (q_heads + h) * kHeadDim + i] = k[at(t, h, kv_heads) + i];
          k_bhsd[(h * kTokens + t) * kHeadDim + i] = k[at(t, h, kv_heads) + i];
        }
    }
    const auto fused_before = fused;
    rope.apply(token_major_view(q.data(), kTokens, q_heads, kHeadDim),
               token_major_view(k.data(), kTokens, kv_heads, kHeadDim), Positions(kIds, kTokens));
    auto views = fused_qkv_views(fused.data(), kTokens, q_heads, kv_heads, kHeadDim, row);
    rope.apply(views.q, views.k, Positions(kIds, kTokens));
    rope.apply(head_major_view(q_bhsd.data(), kTokens, q_heads, kHeadDim),
               head_major_view(k_bhsd.data(), kTokens, kv_heads, kHeadDim),
               Positions(kIds, kTokens));
    for (std::int64_t t = 0; t < kTokens; ++t) {
      for (std::int64_t h = 0; h < q_heads; ++h)
        for (std::int64_t i = 0; i < kHeadDim; ++i) {
          ASSERT_EQ(to_double(fused[t * row + h * kHeadDim + i]), to_double(q[at(t, h, q_heads) + i]));
          ASSERT_EQ(to_double(q_bhsd[(h * kTokens + t) * kHeadDim + i]), to_double(q[at(t, h, q_heads) + i]));
        }
      for (std::int64_t h = 0; h < kv_heads; ++h)
        for (std::int64_t i = 0; i < kHeadDim; ++i) {
          ASSERT_EQ(to_double(fused[t * row + (q_heads + h) * kHeadDim + i]),
                    to_double(k[at(t, h, kv_heads) + i]));
          ASSERT_EQ(to_double(k_bhsd[(h * kTokens + t) * kHeadDim + i]), to_double(k[at(t, h, kv_heads) + i]));
        }
      // v heads and the padding are untouched.
      for (std::int64_t i = (q_heads + kv_heads) * kHeadDim; i < row; ++i)
        ASSERT_EQ(to_double(fused[t * row + i]), to_double(fused_before[t * row + i]));
    }
  }
}

// q-only plus k-only calls equal one fused q+k call; explicit ids equal
// per-token start offsets.
TYPED_TEST(Properties, SplitCallsMatchFusedCall) {
  using T = typename TypeParam::type;
  Rope<scaling::Linear, TypeParam::layout> rope(RotaryDims(kHeadDim, kRotaryDim), scaling::Linear(2.0));
  auto q = random_values<T>(kTokens * kHeads * kHeadDim, 9);
  auto k = random_values<T>(kTokens * kHeadDim, 10);
  auto q2 = q, k2 = k, q3 = q;
  rope.apply(token_major_view(q.data(), kTokens, kHeads, kHeadDim),
             token_major_view(k.data(), kTokens, 1, kHeadDim), Positions(kIds, kTokens));
  rope.apply_q(token_major_view(q2.data(), kTokens, kHeads, kHeadDim), Positions(kIds, kTokens));
  rope.apply_k(token_major_view(k2.data(), kTokens, 1, kHeadDim), Positions(kIds, kTokens));
  EXPECT_TRUE(bytes_equal(q, q2));
  EXPECT_TRUE(bytes_equal(k, k2));
  for (std::int64_t t = 0; t < kTokens; ++t)
    rope.apply_q(token_major_view(q3.data() + t * kHeads * kHeadDim, 1, kHeads, kHeadDim),
                 Positions::starting_at(kIds[t]));
  EXPECT_TRUE(bytes_equal(q, q3));
  // int32 ids give the same result as int64 ids.
  const std::int32_t ids32[kTokens] = {3, 1000000, 77, 1000000};
  auto q4 = random_values<T>(kTokens * kHeads * kHeadDim, 9);
  rope.apply_q(token_major_view(q4.data(), kTokens, kHeads, kHeadDim), Positions(ids32, kTokens));
  EXPECT_TRUE(bytes_equal(q, q4));
}

// Half and bfloat16: widen, rotate as float, round once.
TYPED_TEST(Properties, ReducedPrecisionEqualsFloatRoundedOnce) {
  using T = typename TypeParam::type;
  if constexpr (std::is_same_v<T, Eigen::half> || std::is_same_v<T, Eigen::bfloat16>) {
    auto narrow_ropes = policy_ropes<T, TypeParam::layout>(RotaryDims(kHeadDim, kRotaryDim));
    auto float_ropes = policy_ropes<float, TypeParam::layout>(RotaryDims(kHeadDim, kRotaryDim));
    for (std::size_t r = 0; r < narrow_ropes.size(); ++r) {
      auto x = random_values<T>(kTokens * kHeads * kHeadDim, 11);
      std::vector<float> wide(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) wide[i] = static_cast<float>(x[i]);
      narrow_ropes[r]->apply_q(token_major_view(x.data(), kTokens, kHeads, kHeadDim), Positions(kIds, kTokens));
      float_ropes[r]->apply_q(token_major_view(wide.data(), kTokens, kHeads, kHeadDim), Positions(kIds, kTokens));
      for (std::size_t i = 0; i < x.size(); ++i) {
        const T rounded(wide[i]);
        ASSERT_EQ(std::memcmp(&x[i], &rounded, sizeof(T)), 0) << narrow_ropes[r]->name() << " " << i;
      }
    }
  } else {
    GTEST_SKIP() << "only for half and bfloat16";
  }
}

}  // namespace
