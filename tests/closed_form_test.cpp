// SPDX-License-Identifier: Apache-2.0
// Rotations checked against closed forms and against worked numbers computed
// from the transformers, llama.cpp and vLLM definitions (transformers'
// rotate_half and GPT-J's rotate_every_two, ggml's NEOX and NORMAL modes).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

template <class C>
class ClosedForm : public ::testing::Test {};
TYPED_TEST_SUITE(ClosedForm, AllConfigs, ConfigNames);

// One pair at d = 2 turns by exactly `position` radians (ω_0 = 1).
TYPED_TEST(ClosedForm, SinglePairTurnsByPositionRadians) {
  using T = typename TypeParam::type;
  Rope<scaling::Default, TypeParam::layout> rope(RotaryDims(2));
  for (std::int64_t p : {0, 1, 2, 7, 100, 12345}) {
    std::vector<T> x = {T(0.75f), T(-1.25f)};
    rope.apply_q(token_major_view(x.data(), 1, 1, 2), Positions::starting_at(p));
    const long double c = std::cos(static_cast<long double>(p));
    const long double s = std::sin(static_cast<long double>(p));
    const double tol = rotation_tolerance<T>(1.5);
    EXPECT_NEAR(to_double(x[0]), static_cast<double>(0.75L * c + 1.25L * s), tol) << p;
    EXPECT_NEAR(to_double(x[1]), static_cast<double>(-1.25L * c + 0.75L * s), tol) << p;
  }
}

// Random heads against the long-double oracle, several tokens and heads.
TYPED_TEST(ClosedForm, MatchesLongDoubleOracle) {
  using T = typename TypeParam::type;
  for (std::int64_t d : {4, 8, 64, 128}) {
    const std::int64_t tokens = 5, heads = 3;
    Rope<scaling::Default, TypeParam::layout> rope(RotaryDims(d), scaling::Default(500000.0));
    std::vector<T> x = random_values<T>(static_cast<std::size_t>(tokens * heads * d), 7);
    std::vector<long double> input(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) input[i] = to_double(x[i]);
    std::vector<std::int64_t> ids = {0, 1, 4095, 131071, 1000003};
    rope.apply_q(token_major_view(x.data(), tokens, heads, d), Positions(ids.data(), tokens));
    const auto expected = oracle_rotate(input, tokens, heads, d, d, TypeParam::layout, ids,
                                        default_inv_freq(500000.0L, d));
    // |x| <= 2, |pair| <= 2*sqrt(2): one rounding of the result plus float
    // cos/sin error, scaled to the magnitude.
    const double tol = rotation_tolerance<T>(2.0 * std::sqrt(2.0));
    for (std::size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(to_double(x[i]), static_cast<double>(expected[i]), tol) << "d=" << d << " i=" << i;
  }
}

// d = 8, base 1e4, position 3, x = 1..8, in float64: transformers'
// rotate_half (neox) and GPT-J's rotate_every_two (gptj), partial rotary as
// GPT-NeoX's `rotary_ndims`.
TEST(ClosedForm, LayoutWorkedExamples) {
  const auto run = [](auto rope) {
    std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8};
    rope.apply_q(token_major_view(x.data(), 1, 1, 8), Positions::starting_at(3));
    return x;
  };
  const std::vector<double> want_neox = {-1.6955925, 0.1375517, 2.7886816, 3.9759820,
                                    -4.8088425, 6.3230593, 7.0868367, 8.0119640};
  const std::vector<double> want_gptj = {-1.2722325, -1.8388650, 1.6839286, 4.7079066,
                                    4.8177772,  6.1472777,  6.9759685, 8.0209640};
  const std::vector<double> want_partial = {-1.4133525, 1.8791181, -2.8288575, 4.0581911, 5, 6, 7, 8};
  const auto a = run(Rope<scaling::Default, neox>(RotaryDims(8)));
  const auto b = run(Rope<scaling::Default, gptj>(RotaryDims(8)));
  const auto c = run(Rope<scaling::Default, neox>(RotaryDims(8, 4)));
  for (int i = 0; i < 8; ++i) {
    EXPECT_NEAR(a[i], want_neox[i], 1e-7) << i;
    EXPECT_NEAR(b[i], want_gptj[i], 1e-7) << i;
    EXPECT_NEAR(c[i], want_partial[i], 1e-7) << i;
  }
}

// The reference's ω lists were computed in float32 the way transformers does,
// so they agree with ropekit's exact values to float precision.
void expect_inv_freq(const std::vector<double>& actual, const std::vector<std::pair<int, double>>& expected) {
  for (const auto& [j, w] : expected)
    EXPECT_NEAR(actual[j], w, 1e-6 * w) << "j=" << j;
}

TEST(WorkedNumbers, Default) {
  Rope<scaling::Default> rope(RotaryDims(128));
  expect_inv_freq(rope.inv_freq(), {{0, 1.0}, {1, 8.659643531e-01}, {2, 7.498942018e-01},
                                    {3, 6.493816376e-01}, {31, 1.154781971e-02},
                                    {32, 9.999999776e-03}, {62, 1.333521504e-04},
                                    {63, 1.154782076e-04}});
  EXPECT_EQ(rope.attention_factor(), 1.0);
}

// cos/sin at p = 4095. The reference's values are cos/sin of transformers'
// float32 angle; ropekit uses the exact angle. They agree to 1e-6 where the
// float32 angle is close (j = 0, 32, 63); at j = 1 the float32 angle is
// 3546.1240234 instead of 3546.1239042 and the two differ by 8e-5
// (transformers forms `inv_freq @ position_ids` in float32). Exact values:
// Python double, cos(4095 * ω_j).
TEST(WorkedNumbers, DefaultCosSinAt4095) {
  Rope<scaling::Default, gptj> rope(RotaryDims(128));
  std::vector<double> x(128, 0.0);
  for (int j = 0; j < 64; ++j) x[2 * j] = 1.0;  // (1, 0) per pair -> (cos, sin)
  rope.apply_q(token_major_view(x.data(), 1, 1, 128), Positions::starting_at(4095));
  struct Row {
    int j;
    double exact_cos, exact_sin, hf_cos, hf_sin;
  };
  const Row rows[] = {
      {0, -0.0659759965580649, -0.9978212103769744, -0.065975997, -0.997821210},
      {1, -0.742365817610062, 0.6699947707588054, -0.742445728, 0.669906218},
      {32, -0.9940331897394565, -0.10907803489429785, -0.994033107, -0.109078793},
      {63, 0.8902588121830826, 0.4554549893571998, 0.890258798, 0.455455017}};
  for (const Row& r : rows) {
    EXPECT_NEAR(x[2 * r.j], r.exact_cos, 1e-12) << r.j;
    EXPECT_NEAR(x[2 * r.j + 1], r.exact_sin, 1e-12) << r.j;
    const double hf_tolerance = r.j == 1 ? 1e-4 : 1e-6;
    EXPECT_NEAR(x[2 * r.j], r.hf_cos, hf_tolerance) << r.j;
    EXPECT_NEAR(x[2 * r.j + 1], r.hf_sin, hf_tolerance) << r.j;
  }
  EXPECT_GT(std::fabs(x[2] - -0.742445728), 7e-5);
}

TEST(WorkedNumbers, FixedBaseEqualsDefaultWithThatBase) {
  Rope<scaling::FixedBase> fixed(RotaryDims(128), scaling::FixedBase(1e6, 1e4));
  Rope<scaling::Default> plain(RotaryDims(128), scaling::Default(1e6));
  EXPECT_EQ(fixed.inv_freq(), plain.inv_freq());
  EXPECT_DOUBLE_EQ(fixed.inv_freq()[1], std::pow(1e6, -1.0 / 64.0));
  EXPECT_EQ(fixed.policy().pretrained_base(), 1e4);
}

TEST(WorkedNumbers, Linear) {
  Rope<scaling::Linear> rope(RotaryDims(128), scaling::Linear(4.0));
  expect_inv_freq(rope.inv_freq(), {{0, 0.25}, {1, 2.164910883e-01}, {2, 1.874735504e-01},
                                    {3, 1.623454094e-01}, {31, 2.886954928e-03},
                                    {32, 2.499999944e-03}, {62, 3.333803761e-05},
                                    {63, 2.886955190e-05}});
}

TEST(WorkedNumbers, NtkAware) {
  const scaling::NtkAware policy(4.0);
  EXPECT_NEAR(static_cast<double>(policy.scaled_base(RotaryDims(128))), 40889.94243, 1e-5);
  Rope<scaling::NtkAware> rope(RotaryDims(128), policy);
  expect_inv_freq(rope.inv_freq(), {{0, 1.0}, {1, 8.471172452e-01}, {2, 7.176074982e-01},
                                    {31, 5.837786943e-03}, {32, 4.945289809e-03},
                                    {62, 3.407975964e-05}, {63, 2.886955190e-05}});
  // The lowest pair is exactly position-interpolated.
  Rope<scaling::Linear> linear(RotaryDims(128), scaling::Linear(4.0));
  EXPECT_NEAR(rope.inv_freq()[63], linear.inv_freq()[63], 1e-15);
}

// Hunyuan's `{"type": "dynamic", "alpha": 1000}` is vLLM's static NTK-alpha
// (DynamicNTKAlphaRotaryEmbedding): base * alpha^(d/(d-2)), one base for
// every length, i.e. NtkAware with factor alpha.
TEST(WorkedNumbers, HunyuanNtkAlphaIsStatic) {
  static_assert(!is_length_dependent_v<scaling::NtkAware>);
  const scaling::NtkAware policy(1000.0, 10000.0);
  EXPECT_NEAR(static_cast<double>(policy.scaled_base(RotaryDims(128))), 11158839.92507748, 1e-6);
  Rope<scaling::NtkAware> rope(RotaryDims(128), policy);
  expect_inv_freq(rope.inv_freq(), {{0, 1.0}, {1, 7.760343630e-01}, {63, 1.154781985e-07}});
}

TEST(WorkedNumbers, DynamicNtkBases) {
  const scaling::DynamicNtk policy(4.0, 4096);
  const RotaryDims dims(128);
  EXPECT_NEAR(static_cast<double>(policy.scaled_base(dims, 4096)), 10000.0, 1e-9);
  EXPECT_NEAR(static_cast<double>(policy.scaled_base(dims, 100)), 10000.0, 1e-9);
  EXPECT_NEAR(static_cast<double>(policy.scaled_base(dims, 5000)), 19018.18597, 1e-5);
  EXPECT_NEAR(static_cast<double>(policy.scaled_base(dims, 8192)), 51293.78727, 1e-5);
  EXPECT_NEAR(static_cast<double>(policy.scaled_base(dims, 16384)), 135401.97304, 1e-5);
  Rope<scaling::DynamicNtk> rope(dims, policy);
  expect_inv_freq(rope.table_for(5000).inv_freq(), {{1, 8.573101759e-01}, {63, 6.133282295e-05}});
  expect_inv_freq(rope.table_for(8192).inv_freq(), {{1, 8.441220522e-01}, {63, 2.309563752e-05}});
  expect_inv_freq(rope.table_for(16384).inv_freq(), {{1, 8.314159513e-01}, {63, 8.882938346e-06}});
}

// Partial rotary: the exponent uses the rotary width, not head_dim.
TEST(ClosedForm, PartialRotaryExponentUsesRotaryDim) {
  Rope<scaling::Default> rope(RotaryDims(96, 24));
  ASSERT_EQ(rope.inv_freq().size(), 12u);
  for (int j = 0; j < 12; ++j)
    EXPECT_DOUBLE_EQ(rope.inv_freq()[j], std::pow(10000.0, -2.0 * j / 24.0)) << j;
}

}  // namespace
