// SPDX-License-Identifier: Apache-2.0
// Proportional RoPE (transformers `proportional`, Gemma 4 full attention):
// transformers' frequencies, the rotation against a long-double oracle over
// pairs (j, j + d/2), every SIMD path against scalar, every entry point
// giving the same bits, and the zero-frequency pairs skipped (identity)
// only while nothing scales them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "geometry_util.hpp"
#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

const std::int64_t kIds[] = {0, 1, 4095, 131071, 1000003, 2147483647};
constexpr std::int64_t kTokens = 6;

// transformers' frequencies, computed here: pairs j < rope_angles get
// base^(-2j/d) / factor, the rest 0.
std::vector<long double> expected_inv_freq(std::int64_t d, std::int64_t rope_angles,
                                           long double base, long double factor) {
  std::vector<long double> w(static_cast<std::size_t>(d / 2), 0.0L);
  for (std::int64_t j = 0; j < rope_angles; ++j)
    w[static_cast<std::size_t>(j)] =
        std::pow(base, -2.0L * static_cast<long double>(j) / static_cast<long double>(d)) / factor;
  return w;
}

TEST(Proportional, Gemma4GlobalLayerFrequencies) {
  // Gemma 4 full attention: global_head_dim 512, partial_rotary_factor 0.25,
  // rope_theta 1e6: 64 rotated pairs, 192 zeros, 256 values reported.
  for (double factor : {1.0, 8.0}) {
    const Rope<scaling::Proportional> rope(RotaryDims(512), scaling::Proportional(0.25, 1e6, factor));
    const auto expected = expected_inv_freq(512, 64, 1e6L, factor);
    const auto inv_freq = rope.inv_freq();
    ASSERT_EQ(inv_freq.size(), 256u);
    for (std::size_t j = 0; j < inv_freq.size(); ++j) {
      if (j < 64)
        EXPECT_NEAR(inv_freq[j], static_cast<double>(expected[j]), 1e-15 * inv_freq[j]) << j;
      else
        EXPECT_EQ(inv_freq[j], 0.0) << j;
    }
    EXPECT_EQ(rope.attention_factor(), 1.0);
    EXPECT_EQ(rope.table().rotated_pairs(), 64);
  }
}

TEST(Proportional, RopeAnglesFollowPythonFloorDivision) {
  // int(partial_rotary_factor * head_dim // 2): the product rounds to double
  // first, so 0.58 * 100 = 57.99999999999999 gives 28, not 29.
  struct Case {
    double factor;
    std::int64_t d, angles;
  };
  for (const Case& c : {Case{0.25, 512, 64}, Case{1.0, 128, 64}, Case{0.5, 96, 24},
                        Case{0.3, 10, 1}, Case{0.7, 10, 3}, Case{0.75, 6, 2}, Case{0.1, 16, 0},
                        Case{0.58, 100, 28}, Case{0.29, 100, 14}, Case{1.0 / 3.0, 96, 16}}) {
    const scaling::Proportional policy(c.factor, 10000.0);
    EXPECT_EQ(policy.rotated_pairs(RotaryDims(c.d)), c.angles) << c.factor << " " << c.d;
    const FrequencyTable table(RotaryDims(c.d), policy.frequencies(RotaryDims(c.d)));
    EXPECT_EQ(table.rotated_pairs(), c.angles) << c.factor << " " << c.d;
  }
}

TEST(Proportional, FactorOneIsDefault) {
  const Rope<scaling::Proportional> proportional(RotaryDims(128), scaling::Proportional(1.0, 5e5));
  const Rope<scaling::Default> plain(RotaryDims(128), scaling::Default(5e5));
  EXPECT_EQ(proportional.inv_freq(), plain.inv_freq());
}

// Rotates a [tokens, heads, d] buffer with Rope<Proportional, L> on the
// current path.
template <class T, Layout L>
std::function<void(std::vector<T>&)> rope_rotation(const Rope<scaling::Proportional, L>& rope,
                                                   std::int64_t heads, std::int64_t start) {
  return [&rope, heads, start](std::vector<T>& buffer) {
    const std::int64_t d = rope.dims().head_dim();
    rope.apply_q(token_major_view(buffer.data() + start, kTokens, heads, d),
                 Positions(kIds, kTokens));
  };
}

template <class T, Layout L>
void check_against_oracle(double partial, std::int64_t d, double factor) {
  SCOPED_TRACE(std::string(storage_name<T>()) + " " + layout_name(L) + " d=" + std::to_string(d) +
               " partial=" + std::to_string(partial));
  const std::int64_t heads = 3;
  const scaling::Proportional policy(partial, 1e6, factor);
  const Rope<scaling::Proportional, L> rope(RotaryDims(d), policy);
  const auto inv_freq = expected_inv_freq(d, policy.rotated_pairs(RotaryDims(d)), 1e6L, factor);
  const auto pairs = slice_pairs(L, 0, inv_freq);
  const auto input = random_values<T>(static_cast<std::size_t>(kTokens * heads * d), 7);
  std::vector<long double> wide(input.size());
  for (std::size_t i = 0; i < input.size(); ++i) wide[i] = to_double(input[i]);
  const std::vector<std::vector<std::int64_t>> positions = {
      std::vector<std::int64_t>(kIds, kIds + kTokens)};
  const auto oracle = oracle_pairs(wide, kTokens, heads, d, pairs, positions);
  expect_every_path_matches_oracle<T>(rope_rotation<T, L>(rope, heads, 0), input, oracle,
                                      rotation_tolerance<T>(4.0, 3.0, 2.2e9));
  // Zero-frequency pairs are the identity: untouched bits, on every path.
  for (Isa isa : available_isas()) {
    ScopedIsa scoped(isa);
    std::vector<T> out = input;
    rope_rotation<T, L>(rope, heads, 0)(out);
    for (std::int64_t t = 0; t < kTokens; ++t)
      for (std::int64_t h = 0; h < heads; ++h)
        for (const ChannelPair& p : pairs)
          if (p.inv_freq == 0.0L)
            for (std::int64_t ch : {p.first, p.second}) {
              const auto i = static_cast<std::size_t>((t * heads + h) * d + ch);
              ASSERT_EQ(std::memcmp(&out[i], &input[i], sizeof(T)), 0) << ch;
            }
  }
  // Unaligned by one element: every SIMD path against scalar.
  const auto padded = random_values<T>(static_cast<std::size_t>(kTokens * heads * d + 1), 9);
  expect_paths_agree<T>(rope_rotation<T, L>(rope, heads, 1), padded, 1, kTokens, heads, d, pairs,
                        1.0, "proportional");
}

template <class T>
void check_both_layouts() {
  for (double partial : {0.25, 0.3, 0.58, 1.0})
    for (std::int64_t d : {16, 100, 128, 512}) {
      check_against_oracle<T, Layout::half_split>(partial, d, 1.0);
      check_against_oracle<T, Layout::interleaved>(partial, d, 1.0);
    }
  check_against_oracle<T, Layout::half_split>(0.25, 256, 4.0);
  // No pair rotates at all (int(0.1 * 16 // 2) = 0): the call leaves q as is.
  check_against_oracle<T, Layout::half_split>(0.1, 16, 1.0);
  check_against_oracle<T, Layout::interleaved>(0.1, 16, 1.0);
}

TEST(Proportional, RotationMatchesOracleOnEveryPath) {
  for_each_storage([](auto zero) { check_both_layouts<decltype(zero)>(); });
}

// The rotated pair count reaches the kernels from every entry point: all
// give Rope::apply's bits, on every path.
TEST(Proportional, EveryEntryPointRotatesTheSamePairs) {
  const RotaryDims dims(512);
  const Rope<scaling::Proportional> rope(dims, scaling::Proportional(0.25, 1e6));
  const AnyRope any(dims, Layout::half_split, scaling::Proportional(0.25, 1e6));
  const std::int64_t tokens = 6, q_heads = 8, k_heads = 2;
  // A probe for skipping: an infinity in a zero-frequency pair (100, 356).
  // Skipped, the pair is left alone; rotated by angle 0 anyway, channel 100
  // would become 1 * x - inf * 0 = NaN. Every entry point must skip it.
  auto q0 = random_values<float>(static_cast<std::size_t>(tokens * q_heads * 512), 1);
  auto k0 = random_values<float>(static_cast<std::size_t>(tokens * k_heads * 512), 2);
  for (std::size_t i = 356; i < q0.size(); i += 512) q0[i] = std::numeric_limits<float>::infinity();
  for (std::size_t i = 356; i < k0.size(); i += 512) k0[i] = std::numeric_limits<float>::infinity();
  // Positions inside a cos/sin cache small enough for a test (2 MB).
  const std::int64_t ids[] = {0, 5, 700, 12, 999, 3};
  const Positions positions(ids, tokens);
  for (Isa isa : available_isas()) {
    SCOPED_TRACE(isa_name(isa));
    ScopedIsa scoped(isa);
    const CosSinCache cache(rope.table(), 1000);
    EXPECT_EQ(cache.rotated_pairs(), 64);
    auto q = q0, k = k0;
    rope.apply(token_major_view(q.data(), tokens, q_heads, 512),
               token_major_view(k.data(), tokens, k_heads, 512), positions);
    for (std::size_t i = 100; i < q.size(); i += 512) ASSERT_EQ(q[i], q0[i]) << i;
    using Call = std::function<void(HeadView<float>, HeadView<float>, const Positions&)>;
    const std::vector<std::pair<const char*, Call>> calls = {
        {"AnyRope", [&](auto qv, auto kv, const Positions& p) { any.apply(qv, kv, p); }},
        {"rotate<neox>", [&](auto qv, auto kv, const Positions& p) { rotate<neox>(rope.table(), dims, qv, kv, p); }},
        {"rotate(layout)",
         [&](auto qv, auto kv, const Positions& p) { rotate(rope.table(), dims, Layout::half_split, qv, kv, p); }},
        {"parallel_apply", [&](auto qv, auto kv, const Positions& p) { parallel_apply(rope, qv, kv, p, 2); }},
        {"parallel_apply(any)", [&](auto qv, auto kv, const Positions& p) { parallel_apply(any, qv, kv, p, 3); }},
        {"parallel_rotate", [&](auto qv, auto kv, const Positions& p) { parallel_rotate<neox>(rope.table(), dims, qv, kv, p, 2); }},
    };
    for (const auto& [name, call] : calls) {
      auto q2 = q0, k2 = k0;
      call(token_major_view(q2.data(), tokens, q_heads, 512),
           token_major_view(k2.data(), tokens, k_heads, 512), positions);
      EXPECT_TRUE(bytes_equal(q, q2)) << name;
      EXPECT_TRUE(bytes_equal(k, k2)) << name;
    }
    // The cache holds the same cos/sin as the call forms: same bits too, in
    // place over a strided view whose unrotated pairs must stay untouched.
    auto q3 = q0, k3 = k0;
    rotate<neox>(cache, dims, token_major_view(q3.data(), tokens, q_heads, 512),
                 token_major_view(k3.data(), tokens, k_heads, 512), positions);
    EXPECT_TRUE(bytes_equal(q, q3));
    EXPECT_TRUE(bytes_equal(k, k3));
    // apply_inverse undoes it.
    rope.apply_inverse(token_major_view(q3.data(), tokens, q_heads, 512),
                       token_major_view(k3.data(), tokens, k_heads, 512), positions);
    for (std::size_t i = 0; i < q0.size(); ++i) {
      if (std::isfinite(q0[i])) {
        ASSERT_NEAR(q3[i], q0[i], 2e-6) << i;
      }
    }
  }
}

// The mechanism: trailing zero frequencies are skipped only with attention
// factor 1; with m != 1 their channels are still scaled by m.
TEST(Proportional, ZeroFrequencyPairsSkippedOnlyWhenUnscaled) {
  const RotaryDims dims(8);
  Frequencies f;
  f.inv_freq = {0.5L, 0.0L, 0.25L, 0.0L};
  EXPECT_EQ(FrequencyTable(dims, f).rotated_pairs(), 3);  // interior zeros stay
  f.inv_freq = {0.5L, 0.25L, 0.0L, 0.0L};
  const FrequencyTable unscaled(dims, f);
  EXPECT_EQ(unscaled.rotated_pairs(), 2);
  const detail::Geometry g =
      detail::call_geometry<Layout::half_split>(dims, detail::TableAccess::angles(unscaled).shape);
  EXPECT_EQ(g.pairs, 2);
  EXPECT_EQ(g.half, 4);
  f.attention_factor = 1.5;
  const FrequencyTable scaled(dims, f);
  EXPECT_EQ(scaled.rotated_pairs(), 4);
  for (Isa isa : available_isas()) {
    ScopedIsa scoped(isa);
    std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
    rotate<neox>(scaled, dims, token_major_view(x.data(), 1, 1, 8), Positions::starting_at(0));
    // Position 0: every pair turns by 0, so each channel is just times m.
    for (std::size_t i = 0; i < x.size(); ++i)
      EXPECT_EQ(x[i], 1.5f * static_cast<float>(i + 1)) << isa_name(isa) << " " << i;
  }
}

}  // namespace
