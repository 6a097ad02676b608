// SPDX-License-Identifier: Apache-2.0
// M-RoPE (Qwen2-VL sections, Qwen3-VL interleaving): the pair-to-axis
// assignment, equal 3-D ids equal the 1-D rotation, each section reads only
// its own axis, a 3-D rotation against a long-double oracle, composition
// with YaRN, and the rejected section lists.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;
using scaling::Mrope;
using scaling::MropeLayout;

// Qwen2-VL: d 128, sections {16, 24, 24}, base 1e6.
Mrope<> qwen2_vl() { return Mrope<>({16, 24, 24}, scaling::Default(1e6)); }
// Qwen3-VL: sections {24, 20, 20}, interleaved, base 5e6.
Mrope<> qwen3_vl() {
  return Mrope<>({24, 20, 20}, scaling::Default(5e6), MropeLayout::interleaved);
}

// The axis of pair j, written out from transformers: Qwen2-VL splits the
// cos/sin rows by `mrope_section * 2` over the concatenated halves, so pair
// j falls in the section containing j; Qwen3-VL's apply_interleaved_mrope
// overwrites slices [1 : 3·s_h : 3] with h and [2 : 3·s_w : 3] with w.
int expected_axis(std::array<std::int64_t, 3> sections, bool interleaved, std::int64_t j) {
  if (interleaved) {
    for (std::int64_t i = 1; i < 3 * sections[1]; i += 3)
      if (i == j) return 1;
    for (std::int64_t i = 2; i < 3 * sections[2]; i += 3)
      if (i == j) return 2;
    return 0;
  }
  return j < sections[0] ? 0 : j < sections[0] + sections[1] ? 1 : 2;
}

TEST(Mrope, SectionedAxes) {
  const Frequencies f = qwen2_vl().frequencies(RotaryDims(128));
  ASSERT_EQ(f.position_axis.size(), 64u);
  for (int j = 0; j < 64; ++j) {
    EXPECT_EQ(f.position_axis[j], expected_axis({16, 24, 24}, false, j)) << j;
    EXPECT_EQ(f.position_axis[j], j < 16 ? 0 : j < 40 ? 1 : 2) << j;
  }
  // Frequencies and factor come from the inner policy unchanged.
  const Frequencies plain = scaling::Default(1e6).frequencies(RotaryDims(128));
  EXPECT_EQ(f.inv_freq, plain.inv_freq);
  EXPECT_EQ(f.attention_factor, 1.0);
  Rope<Mrope<>> rope(RotaryDims(128), qwen2_vl());
  EXPECT_EQ(rope.table().axes(), 3);
}

TEST(Mrope, InterleavedAxes) {
  const Frequencies f = qwen3_vl().frequencies(RotaryDims(128));
  std::array<int, 3> count = {0, 0, 0};
  for (int j = 0; j < 64; ++j) {
    EXPECT_EQ(f.position_axis[j], expected_axis({24, 20, 20}, true, j)) << j;
    ++count[f.position_axis[j]];
  }
  EXPECT_EQ(count, (std::array<int, 3>{24, 20, 20}));
  // t h w t h w ... up to pair 59, then t for pairs 60..63.
  EXPECT_EQ(f.position_axis[0], 0);
  EXPECT_EQ(f.position_axis[1], 1);
  EXPECT_EQ(f.position_axis[2], 2);
  EXPECT_EQ(f.position_axis[58], 1);
  EXPECT_EQ(f.position_axis[59], 2);
  for (int j = 60; j < 64; ++j) EXPECT_EQ(f.position_axis[j], 0) << j;
}

// Text tokens: t = h = w. Three equal ids, or a single-axis Positions, give
// exactly the 1-D rotation with the same frequencies.
template <Layout L>
void check_equal_ids_are_1d(const Mrope<>& policy, double base) {
  const std::int64_t tokens = 5, heads = 2, d = 128;
  const std::vector<std::int64_t> ids = {0, 7, 4095, 131071, 1000003};
  std::vector<std::int64_t> ids3;
  for (int axis = 0; axis < 3; ++axis) ids3.insert(ids3.end(), ids.begin(), ids.end());
  const auto x0 = random_values<float>(tokens * heads * d, 31);
  auto a = x0, b = x0, c = x0;
  Rope<Mrope<>, L> mrope{RotaryDims(d), policy};
  Rope<scaling::Default, L> plain{RotaryDims(d), scaling::Default(base)};
  mrope.apply_q(token_major_view(a.data(), tokens, heads, d),
                Positions::multi_axis(ids3.data(), 3, tokens, tokens));
  mrope.apply_q(token_major_view(b.data(), tokens, heads, d), Positions(ids.data(), tokens));
  plain.apply_q(token_major_view(c.data(), tokens, heads, d), Positions(ids.data(), tokens));
  EXPECT_TRUE(bytes_equal(a, c));
  EXPECT_TRUE(bytes_equal(b, c));
  EXPECT_FALSE(bytes_equal(a, x0));
}

TEST(Mrope, EqualIdsEqualOneDimensionalRotation) {
  check_equal_ids_are_1d<neox>(qwen2_vl(), 1e6);
  check_equal_ids_are_1d<gptj>(qwen2_vl(), 1e6);
  check_equal_ids_are_1d<neox>(qwen3_vl(), 5e6);
  check_equal_ids_are_1d<gptj>(qwen3_vl(), 5e6);
}

// Changing only one axis's id changes exactly the pairs of that axis (both
// channels of each), and leaves every other channel bit-for-bit alone.
template <Layout L>
void check_sections_read_their_axis(const Mrope<>& policy) {
  const std::int64_t d = 128, half = 64;
  const Frequencies f = policy.frequencies(RotaryDims(d));
  const auto x0 = random_values<double>(d, 41);
  const std::int64_t base_ids[3] = {120, 35, 77};  // t, h, w of one token
  auto rotated = [&](const std::int64_t(&ids)[3]) {
    auto x = x0;
    Rope<Mrope<>, L> rope{RotaryDims(d), policy};
    rope.apply_q(token_major_view(x.data(), 1, 1, d), Positions::multi_axis(ids, 3, 1, 1));
    return x;
  };
  const auto reference = rotated(base_ids);
  for (int axis = 0; axis < 3; ++axis) {
    std::int64_t ids[3] = {base_ids[0], base_ids[1], base_ids[2]};
    ids[axis] += 1000;
    const auto moved = rotated(ids);
    for (std::int64_t j = 0; j < half; ++j) {
      const std::int64_t i0 = L == neox ? j : 2 * j;
      const std::int64_t i1 = L == neox ? j + half : 2 * j + 1;
      if (f.position_axis[j] == axis) {
        EXPECT_TRUE(moved[i0] != reference[i0] || moved[i1] != reference[i1])
            << "axis " << axis << " pair " << j << " did not move";
      } else {
        EXPECT_EQ(moved[i0], reference[i0]) << "axis " << axis << " pair " << j;
        EXPECT_EQ(moved[i1], reference[i1]) << "axis " << axis << " pair " << j;
      }
    }
  }
}

TEST(Mrope, SectionsReadTheirAxis) {
  check_sections_read_their_axis<neox>(qwen2_vl());
  check_sections_read_their_axis<gptj>(qwen2_vl());
  check_sections_read_their_axis<neox>(qwen3_vl());
  check_sections_read_their_axis<gptj>(qwen3_vl());
}

// Image tokens with distinct t/h/w against a long-double oracle that picks
// each pair's position itself.
TEST(Mrope, ThreeAxisRotationMatchesOracle) {
  for (bool interleaved : {false, true}) {
    const std::array<std::int64_t, 3> sections = interleaved
                                                     ? std::array<std::int64_t, 3>{24, 20, 20}
                                                     : std::array<std::int64_t, 3>{16, 24, 24};
    const Mrope<> policy(sections, scaling::Default(1e6),
                         interleaved ? MropeLayout::interleaved : MropeLayout::sectioned);
    const std::int64_t tokens = 4, heads = 3, d = 128, half = 64;
    // [3, tokens] with a padded axis stride of 6.
    const std::int64_t stride = 6;
    const std::vector<std::int64_t> ids = {5, 5, 5, 900000, 0, 0,   // t
                                           3, 4, 9, 12,     0, 0,   // h
                                           1, 7, 7, 131071, 0, 0};  // w
    Rope<Mrope<>, neox> rope{RotaryDims(d), policy};
    auto x = random_values<double>(tokens * heads * d, 51);
    const std::vector<long double> input(x.begin(), x.end());
    rope.apply_q(token_major_view(x.data(), tokens, heads, d),
                 Positions::multi_axis(ids.data(), 3, tokens, stride));
    const auto w = default_inv_freq(1e6L, d);
    for (std::int64_t t = 0; t < tokens; ++t)
      for (std::int64_t h = 0; h < heads; ++h)
        for (std::int64_t j = 0; j < half; ++j) {
          const auto p =
              static_cast<long double>(ids[expected_axis(sections, interleaved, j) * stride + t]);
          const long double c = std::cos(p * w[j]), s = std::sin(p * w[j]);
          const std::size_t at = static_cast<std::size_t>((t * heads + h) * d);
          const long double a = input[at + j], b = input[at + j + half];
          const double tol = rotation_tolerance<double>(2.0 * std::sqrt(2.0));
          ASSERT_NEAR(x[at + j], static_cast<double>(a * c - b * s), tol)
              << t << " " << h << " " << j;
          ASSERT_NEAR(x[at + j + half], static_cast<double>(b * c + a * s), tol)
              << t << " " << h << " " << j;
        }
  }
}

// YaRN-extended M-RoPE (vLLM allows yarn + mrope_section): YaRN's
// frequencies and attention factor, M-RoPE's axes.
TEST(Mrope, ComposesWithYarn) {
  const scaling::Yarn yarn(4.0, 32768, 1e6);
  const Mrope<scaling::Yarn> policy({16, 24, 24}, yarn);
  const Frequencies f = policy.frequencies(RotaryDims(128));
  const Frequencies y = yarn.frequencies(RotaryDims(128));
  EXPECT_EQ(f.inv_freq, y.inv_freq);
  EXPECT_EQ(f.attention_factor, y.attention_factor);
  EXPECT_NEAR(f.attention_factor, 1.138629436, 1e-9);
  EXPECT_EQ(f.position_axis[15], 0);
  EXPECT_EQ(f.position_axis[16], 1);
  EXPECT_EQ(f.position_axis[40], 2);
  Rope<Mrope<scaling::Yarn>> rope(RotaryDims(128), policy);
  EXPECT_EQ(rope.attention_factor(), y.attention_factor);
  // CTAD picks the inner policy from the argument.
  const Mrope deduced({16, 24, 24}, scaling::Linear(2.0));
  static_assert(std::is_same_v<decltype(deduced), const Mrope<scaling::Linear>>);
}

TEST(Mrope, RejectsBadSections) {
  expect_rejected(
      [] {
        Rope<Mrope<>>(RotaryDims(128), Mrope<>({16, 24, 23}));
      },
      {"mrope_section sum = 63", "rotary_dim / 2 = 64"});
  // Qwen2-VL's sections on a 64-wide rotary (transformers would mis-slice).
  expect_rejected(
      [] {
        Rope<Mrope<>>(RotaryDims(64), Mrope<>({16, 24, 24}));
      },
      {"mrope_section sum = 64", "rotary_dim / 2 = 32"});
  expect_rejected([] { Mrope<>({16, -1, 49}); }, {"mrope_section[1] = -1", "negative"});
  // Interleaving gives h and w at most every third pair: {16, 24, 24} over
  // 64 pairs would leave h with 21 pairs, not 24.
  expect_rejected(
      [] {
        Rope<Mrope<>>(RotaryDims(128),
                      Mrope<>({16, 24, 24}, scaling::Default(), MropeLayout::interleaved));
      },
      {"mrope_section[1] = 24", "gets 21"});
  expect_rejected(
      [] {
        Mrope<>({16, 24, 24}, scaling::Default(), static_cast<MropeLayout>(5));
      },
      {"mrope layout = 5"});
  // 3-axis ids need a 3-axis table; a 2-axis id list is rejected at the call.
  Rope<Mrope<>> rope(RotaryDims(128), qwen2_vl());
  std::vector<float> q(128, 1.0f);
  const std::int64_t ids[2] = {1, 2};
  expect_rejected(
      [&] {
        rope.apply_q(token_major_view(q.data(), 1, 1, 128), Positions::multi_axis(ids, 2, 1, 1));
      },
      {"positions axes = 2"});
}

}  // namespace

namespace {

// An empty section still means three ids per token: {32, 32, 0} takes the
// same 3-axis position_ids as any other split, and no pair reads the width id.
TEST(Mrope, EmptySectionStillTakesThreeAxes) {
  using namespace ropekit;
  using scaling::Mrope;
  Rope<Mrope<>> rope(RotaryDims(128), Mrope<>({32, 32, 0}));
  EXPECT_EQ(rope.table().axes(), 3);
  std::vector<float> a(128, 1.0f), b(128, 1.0f);
  const std::int64_t ids_a[3] = {7, 9, 11}, ids_b[3] = {7, 9, 5000};
  rope.apply_q(token_major_view(a.data(), 1, 1, 128), Positions::multi_axis(ids_a, 3, 1, 1));
  rope.apply_q(token_major_view(b.data(), 1, 1, 128), Positions::multi_axis(ids_b, 3, 1, 1));
  EXPECT_EQ(a, b);
}

}  // namespace
