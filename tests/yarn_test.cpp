// SPDX-License-Identifier: Apache-2.0
// YaRN against values computed as transformers' `_compute_yarn_parameters`
// computes them (d 128, base 1e4, s 4, L0 4096; Python double or float32 as
// noted) and against an independent long-double derivation of the formula; the
// attention-factor precedence (explicit, mscale ratio, g(s)); gpt-oss's
// truncate=false; and every rejected parameter.
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

constexpr long double kPi = 3.141592653589793238462643383279502884L;

// The paper's formula written out again, independently of the library.
struct YarnOracle {
  long double low_raw, high_raw, low, high;
  std::vector<long double> inv_freq;
};

YarnOracle yarn_oracle(std::int64_t d, long double base, long double s, long double trained,
                       long double beta_fast = 32, long double beta_slow = 1,
                       bool truncate = true) {
  YarnOracle o;
  const auto dim = [&](long double r) {
    return d * std::log(trained / (2 * kPi * r)) / (2 * std::log(base));
  };
  o.low_raw = dim(beta_fast);
  o.high_raw = dim(beta_slow);
  o.low = std::max(truncate ? std::floor(o.low_raw) : o.low_raw, 0.0L);
  o.high = std::min(truncate ? std::ceil(o.high_raw) : o.high_raw, static_cast<long double>(d - 1));
  const long double high = o.high == o.low ? o.high + 0.001L : o.high;
  for (std::int64_t j = 0; j < d / 2; ++j) {
    const long double w = std::pow(base, -2.0L * j / d);
    const long double r = std::min(std::max((j - o.low) / (high - o.low), 0.0L), 1.0L);
    o.inv_freq.push_back(w / s * r + w * (1 - r));
  }
  return o;
}

// The reference's ω lists were computed in float32 the way transformers does
// (pow, division and the blend each rounded to float), so they agree with
// ropekit's extended-precision values to float precision: relative 1e-6.
void expect_inv_freq(const std::vector<double>& actual,
                     const std::vector<std::pair<int, double>>& expected) {
  for (const auto& [j, w] : expected) EXPECT_NEAR(actual[j], w, 1e-6 * w) << "j=" << j;
}

// ropekit's long double values against the oracle: same formula, different
// order of operations, so a few long-double ulps.
void expect_matches_oracle(const Frequencies& f, const std::vector<long double>& oracle) {
  ASSERT_EQ(f.inv_freq.size(), oracle.size());
  for (std::size_t j = 0; j < oracle.size(); ++j)
    EXPECT_NEAR(static_cast<double>(f.inv_freq[j]), static_cast<double>(oracle[j]),
                1e-15 * static_cast<double>(oracle[j]))
        << "j=" << j;
}

scaling::Yarn::Params worked_params() {  // d 128, base 1e4, s 4, L0 4096
  scaling::Yarn::Params p;
  p.factor = 4.0;
  p.original_max_position_embeddings = 4096;
  p.base = 10000.0;
  return p;
}

TEST(Yarn, CorrectionRange) {
  const RotaryDims dims(128);
  const scaling::Yarn yarn(worked_params());
  // Raw correction dims, transformers' `find_correction_dim` in Python double.
  EXPECT_NEAR(static_cast<double>(yarn.correction_dim(32, dims)), 20.94448162, 1e-8);
  EXPECT_NEAR(static_cast<double>(yarn.correction_dim(1, dims)), 45.02688127, 1e-8);
  const auto oracle = yarn_oracle(128, 1e4L, 4, 4096);
  EXPECT_NEAR(static_cast<double>(yarn.correction_dim(32, dims)),
              static_cast<double>(oracle.low_raw), 1e-13);
  EXPECT_NEAR(static_cast<double>(yarn.correction_dim(1, dims)),
              static_cast<double>(oracle.high_raw), 1e-13);
  // Truncated: [floor, ceil] = [20, 46].
  const auto range = yarn.correction_range(dims);
  EXPECT_EQ(range.low, 20.0L);
  EXPECT_EQ(range.high, 46.0L);
  // truncate = false keeps the raw values.
  auto p = worked_params();
  p.truncate = false;
  const auto raw = scaling::Yarn(p).correction_range(dims);
  EXPECT_NEAR(static_cast<double>(raw.low), 20.94448162, 1e-8);
  EXPECT_NEAR(static_cast<double>(raw.high), 45.02688127, 1e-8);
}

// gpt-oss (d 64, base 150000, L0 4096, truncate false), transformers'
// `find_correction_range` in Python double.
TEST(Yarn, GptOssCorrectionRange) {
  scaling::Yarn::Params p;
  p.factor = 32.0;
  p.original_max_position_embeddings = 4096;
  p.base = 150000.0;
  p.truncate = false;
  const auto range = scaling::Yarn(p).correction_range(RotaryDims(64));
  EXPECT_NEAR(static_cast<double>(range.low), 8.092779116, 1e-9);
  EXPECT_NEAR(static_cast<double>(range.high), 17.398024502, 1e-9);
  // llama.cpp always truncates: [8, 18] there, a different ramp.
  p.truncate = true;
  const auto truncated = scaling::Yarn(p).correction_range(RotaryDims(64));
  EXPECT_EQ(truncated.low, 8.0L);
  EXPECT_EQ(truncated.high, 18.0L);
  expect_matches_oracle(scaling::Yarn(p).frequencies(RotaryDims(64)),
                        yarn_oracle(64, 150000.0L, 32, 4096, 32, 1, true).inv_freq);
}

TEST(Yarn, WorkedInverseFrequencies) {
  Rope<scaling::Yarn> rope(RotaryDims(128), scaling::Yarn(worked_params()));
  expect_inv_freq(rope.inv_freq(), {{20, 5.623412877e-02},
                                    {21, 4.729203880e-02},
                                    {30, 9.488517419e-03},
                                    {33, 5.412276834e-03},
                                    {45, 4.294026294e-04},
                                    {46, 3.333803616e-04},
                                    {63, 2.886955190e-05}});
  const auto oracle = yarn_oracle(128, 1e4L, 4, 4096);
  expect_matches_oracle(rope.policy().frequencies(rope.dims()), oracle.inv_freq);
  // Below low: the default ω exactly; from high on: ω/4 (= linear).
  const Frequencies plain = detail::default_frequencies(1e4L, rope.dims());
  const Frequencies yarn = rope.policy().frequencies(rope.dims());
  for (int j = 0; j <= 20; ++j) EXPECT_EQ(yarn.inv_freq[j], plain.inv_freq[j]) << j;
  for (int j = 46; j < 64; ++j) EXPECT_EQ(yarn.inv_freq[j], plain.inv_freq[j] / 4) << j;
  // Inside the ramp, r_j = (j - 20)/26.
  for (int j = 21; j < 46; ++j) {
    const long double r = (j - 20) / 26.0L;
    EXPECT_NEAR(static_cast<double>(yarn.inv_freq[j]),
                static_cast<double>(plain.inv_freq[j] * (r / 4 + (1 - r))), 1e-17)
        << j;
  }
}

TEST(Yarn, WorkedInverseFrequenciesWithoutTruncation) {
  auto p = worked_params();
  p.truncate = false;
  Rope<scaling::Yarn> rope(RotaryDims(128), scaling::Yarn(p));
  expect_inv_freq(
      rope.inv_freq(),
      {{21, 4.861255363e-02}, {30, 9.574460797e-03}, {33, 5.408415105e-03}, {45, 3.862707526e-04}});
  expect_matches_oracle(rope.policy().frequencies(rope.dims()),
                        yarn_oracle(128, 1e4L, 4, 4096, 32, 1, false).inv_freq);
}

// Partial rotary: the correction dims and the exponent use the rotary width.
TEST(Yarn, PartialRotaryUsesRotaryWidth) {
  const scaling::Yarn yarn(worked_params());
  expect_matches_oracle(yarn.frequencies(RotaryDims(128, 64)),
                        yarn_oracle(64, 1e4L, 4, 4096).inv_freq);
  EXPECT_NEAR(static_cast<double>(yarn.correction_dim(32, RotaryDims(128, 64))), 20.94448162 / 2,
              1e-8);
}

// g(s) = 0.1 ln s + 1 (Peng et al. 2023, transformers `get_mscale`), the
// DeepSeek softmax multipliers, and
// transformers' precedence: explicit > mscale ratio (both set) > g(s, 1).
TEST(Yarn, AttentionFactors) {
  const std::pair<double, double> g_values[] = {{2, 1.069314718},  {4, 1.138629436},
                                                {8, 1.207944154},  {16, 1.277258872},
                                                {32, 1.346573590}, {40, 1.368887945}};
  for (const auto& [s, g] : g_values) {
    EXPECT_NEAR(scaling::yarn_mscale(s), g, 1e-9) << s;
    EXPECT_NEAR(scaling::yarn_mscale(s),
                static_cast<double>(0.1L * std::log(static_cast<long double>(s)) + 1), 1e-15);
  }
  EXPECT_EQ(scaling::yarn_mscale(1.0), 1.0);
  EXPECT_EQ(scaling::yarn_mscale(0.5, 0.707), 1.0);

  EXPECT_NEAR(scaling::Yarn(worked_params()).attention_factor(), 1.138629436, 1e-9);
  Rope<scaling::Yarn> rope(RotaryDims(128), scaling::Yarn(worked_params()));
  EXPECT_NEAR(rope.attention_factor(), 1.138629436111989, 1e-15);
  EXPECT_EQ(scaling::Yarn(worked_params()).softmax_scale_multiplier(), 1.0);

  // DeepSeek-V3 (s 40, mscale = mscale_all_dim = 1): factor exactly 1, and
  // the attention code multiplies the softmax scale by g(40, 1)^2.
  scaling::Yarn::Params v3;
  v3.factor = 40;
  v3.original_max_position_embeddings = 4096;
  v3.mscale = 1.0;
  v3.mscale_all_dim = 1.0;
  EXPECT_EQ(scaling::Yarn(v3).attention_factor(), 1.0);
  EXPECT_NEAR(scaling::Yarn(v3).softmax_scale_multiplier(), 1.873854207, 1e-9);
  // DeepSeek-V2 (0.707 / 0.707).
  auto v2 = v3;
  v2.mscale = v2.mscale_all_dim = 0.707;
  EXPECT_EQ(scaling::Yarn(v2).attention_factor(), 1.0);
  EXPECT_NEAR(scaling::Yarn(v2).softmax_scale_multiplier(), 1.589626165, 1e-9);
  // Ministral 3 style: mscale = mscale_all_dim = 1, s = 16 -> 1.0 in
  // transformers (old vLLM gave g(16) = 1.2773, vLLM PR #48623).
  auto ministral = v3;
  ministral.factor = 16;
  EXPECT_EQ(scaling::Yarn(ministral).attention_factor(), 1.0);
  // Unequal pair: the ratio.
  auto ratio = v3;
  ratio.mscale = 1.0;
  ratio.mscale_all_dim = 0.707;
  EXPECT_NEAR(
      scaling::Yarn(ratio).attention_factor(),
      static_cast<double>((0.1L * std::log(40.0L) + 1) / (0.1L * 0.707L * std::log(40.0L) + 1)),
      1e-15);
  // Only one of the pair set (0 = None in transformers): g(s, 1).
  auto one = v3;
  one.mscale_all_dim = 0.0;
  EXPECT_NEAR(scaling::Yarn(one).attention_factor(), 1.368887945, 1e-9);
  EXPECT_EQ(scaling::Yarn(one).softmax_scale_multiplier(), 1.0);
  one.mscale = 0.0;
  one.mscale_all_dim = 1.0;
  EXPECT_NEAR(scaling::Yarn(one).attention_factor(), 1.368887945, 1e-9);
  // Explicit attention_factor wins over everything.
  auto explicit_factor = v3;
  explicit_factor.attention_factor = 0.8;
  EXPECT_EQ(scaling::Yarn(explicit_factor).attention_factor(), 0.8);
  EXPECT_EQ(Rope<scaling::Yarn>(RotaryDims(64), scaling::Yarn(explicit_factor)).attention_factor(),
            0.8);
  // s <= 1: no temperature.
  EXPECT_EQ(scaling::Yarn(1.0, 4096).attention_factor(), 1.0);
}

// cos·m and sin·m at p = 16383. The reference values are
// cos/sin of transformers' float32 angle fl(p·fl(ω)) in double; ropekit
// rotates by the exact angle. Against the exact values (computed here from
// the oracle ω in long double) the match is 1e-12. Against the reference it
// is 1e-7 where the float32 angle is close, but at j = 21 the float32 angle
// is 774.78546143 instead of 774.78546677 (5.3e-6 rad off: the float32 ω
// and the product's rounding at |θ| ≈ 775, spacing 6.1e-5), so the values
// differ by up to 5.7e-6 there.
TEST(Yarn, CosSinAt16383) {
  Rope<scaling::Yarn, gptj> rope(RotaryDims(128), scaling::Yarn(worked_params()));
  std::vector<double> x(128, 0.0);
  for (int j = 0; j < 64; ++j) x[2 * j] = 1.0;  // (1, 0) per pair -> (m cos, m sin)
  const std::int64_t p = 16383;
  rope.apply_q(token_major_view(x.data(), 1, 1, 128), Positions::starting_at(p));
  const auto oracle = yarn_oracle(128, 1e4L, 4, 4096);
  const long double m = 0.1L * std::log(4.0L) + 1;
  struct Row {
    int j;
    double hf_cos, hf_sin;
  };
  const Row rows[] = {{0, -1.046207920, 0.449361749},
                      {21, -0.425376419, 1.056187433},
                      {33, 0.867385067, 0.737644995},
                      {63, 1.013629956, 0.518682278}};
  for (const Row& r : rows) {
    const long double angle = p * oracle.inv_freq[r.j];
    EXPECT_NEAR(x[2 * r.j], static_cast<double>(m * std::cos(angle)), 1e-12) << r.j;
    EXPECT_NEAR(x[2 * r.j + 1], static_cast<double>(m * std::sin(angle)), 1e-12) << r.j;
    const double hf_tolerance = r.j == 21 ? 1e-5 : 1e-7;
    EXPECT_NEAR(x[2 * r.j], r.hf_cos, hf_tolerance) << r.j;
    EXPECT_NEAR(x[2 * r.j + 1], r.hf_sin, hf_tolerance) << r.j;
  }
  // The float32 gap at j = 21 is real, not slack.
  EXPECT_GT(std::fabs(x[42] - -0.425376419), 5e-6);
}

// Whole heads at positions up to 10^6 against the long-double oracle.
TEST(Yarn, RotationMatchesOracle) {
  const std::int64_t tokens = 4, heads = 2, d = 128;
  Rope<scaling::Yarn, neox> rope{RotaryDims(d), scaling::Yarn(worked_params())};
  auto x = random_values<double>(tokens * heads * d, 21);
  std::vector<long double> input(x.begin(), x.end());
  const std::vector<std::int64_t> ids = {0, 16383, 131071, 1000003};
  rope.apply_q(token_major_view(x.data(), tokens, heads, d), Positions(ids.data(), tokens));
  const auto expected =
      oracle_rotate(input, tokens, heads, d, d, neox, ids, yarn_oracle(d, 1e4L, 4, 4096).inv_freq,
                    0.1L * std::log(4.0L) + 1);
  const double tol = rotation_tolerance<double>(1.14 * 2.0 * std::sqrt(2.0));
  for (std::size_t i = 0; i < x.size(); ++i)
    ASSERT_NEAR(x[i], static_cast<double>(expected[i]), tol) << i;
}

// low == high: transformers adds 0.001 to high, a hard step.
TEST(Yarn, EmptyRampIsAStep) {
  const RotaryDims dims(128);
  // beta_fast == beta_slow without truncation: low = high = c(4) = 35.39.
  scaling::Yarn::Params p = worked_params();
  p.beta_fast = p.beta_slow = 4.0;
  p.truncate = false;
  const scaling::Yarn step(p);
  const auto range = step.correction_range(dims);
  EXPECT_EQ(range.low, range.high);
  const Frequencies f = step.frequencies(dims);
  const Frequencies plain = detail::default_frequencies(1e4L, dims);
  for (int j = 0; j < 64; ++j)
    EXPECT_EQ(f.inv_freq[j], j <= 35 ? plain.inv_freq[j] : plain.inv_freq[j] / 4) << j;
  expect_matches_oracle(f, yarn_oracle(128, 1e4L, 4, 4096, 4, 4, false).inv_freq);
  // Both ends clamped to 0 (L0 = 6: c(1) = -0.32 -> ceil 0): only pair 0 keeps ω.
  scaling::Yarn::Params tiny = worked_params();
  tiny.original_max_position_embeddings = 6;
  const auto tiny_range = scaling::Yarn(tiny).correction_range(dims);
  EXPECT_EQ(tiny_range.low, 0.0L);
  EXPECT_EQ(tiny_range.high, 0.0L);
  const Frequencies g = scaling::Yarn(tiny).frequencies(dims);
  EXPECT_EQ(g.inv_freq[0], 1.0L);
  for (int j = 1; j < 64; ++j) EXPECT_EQ(g.inv_freq[j], plain.inv_freq[j] / 4) << j;
}

TEST(Yarn, RejectsBadParameters) {
  using scaling::Yarn;
  const auto with = [](auto change) {
    Yarn::Params p = worked_params();
    change(p);
    return p;
  };
  for (double bad : {kNaN, kInf, -kInf, 0.0, -1.0}) {
    expect_rejected([&] { Yarn(bad, 4096); }, {"factor = "});
    expect_rejected([&] { Yarn(4.0, 4096, bad); }, {"base = "});
    expect_rejected([&] { Yarn(with([&](Yarn::Params& p) { p.beta_fast = bad; })); },
                    {"beta_fast = "});
    expect_rejected([&] { Yarn(with([&](Yarn::Params& p) { p.beta_slow = bad; })); },
                    {"beta_slow = "});
    expect_rejected([&] { Yarn(with([&](Yarn::Params& p) { p.attention_factor = bad; })); },
                    {"attention_factor = "});
  }
  expect_rejected([] { Yarn(kNaN, 4096); }, {"factor = nan"});
  expect_rejected([] { Yarn(4.0, 0); }, {"original_max_position_embeddings = 0", "positive"});
  expect_rejected([] { Yarn(4.0, -4096); }, {"original_max_position_embeddings = -4096"});
  // ln(1) = 0 divides c(r); base < 1 reverses the pairs.
  expect_rejected([] { Yarn(4.0, 4096, 1.0); }, {"base = 1", "greater than 1"});
  expect_rejected([] { Yarn(4.0, 4096, 0.5); }, {"base = 0.5"});
  // transformers reads 0 as the default; ropekit wants the value.
  expect_rejected([&] { Yarn(with([](Yarn::Params& p) { p.beta_fast = 0; })); },
                  {"beta_fast = 0", "32"});
  // Swapped betas would run the ramp backwards.
  expect_rejected([&] { Yarn(with([](Yarn::Params& p) { p.beta_fast = 1, p.beta_slow = 32; })); },
                  {"beta_fast = 1", "beta_slow = 32"});
  for (double bad : {kNaN, kInf, -0.5}) {
    expect_rejected([&] { Yarn(with([&](Yarn::Params& p) { p.mscale = bad; })); }, {"mscale = "});
    expect_rejected([&] { Yarn(with([&](Yarn::Params& p) { p.mscale_all_dim = bad; })); },
                    {"mscale_all_dim = "});
  }
  expect_rejected([&] { Yarn(with([](Yarn::Params& p) { p.mscale = -1; })); }, {"mscale = -1"});
  // L0 = 6 < 2π: c(1) = -0.32 -> ceil 0 and c(32) < 0 -> 0: range [0, 0],
  // accepted (EmptyRampIsAStep). L0 = 4 gives c(1) = -3.1 -> ceil -3 < 0 =
  // low: an inverted range, which transformers would turn into
  // "extrapolate every pair". Rejected when the frequencies are built.
  EXPECT_NO_THROW(Rope<Yarn>(RotaryDims(128), Yarn(4.0, 6)));
  expect_rejected([] { Rope<Yarn>(RotaryDims(128), Yarn(4.0, 4)); },
                  {"original_max_position_embeddings = 4", "correction range", "[0, -3]"});
  // A beta_fast pair index past d - 1 (tiny rotary width, huge L0).
  expect_rejected([] { Rope<Yarn>(RotaryDims(2), Yarn(4.0, 1000000, 10.0)); },
                  {"original_max_position_embeddings = 1000000", "rotary_dim - 1 = 1"});
  // Equal betas are a hard step, accepted.
  EXPECT_NO_THROW(Yarn(with([](Yarn::Params& p) { p.beta_fast = p.beta_slow = 8; })));
}

}  // namespace
