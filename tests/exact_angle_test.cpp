// SPDX-License-Identifier: Apache-2.0
// Exact angles at every position (foundation issue §4): cos/sin correct to
// float precision up to 2^31-1, where float32 `p * ω` (transformers,
// llama.cpp) is off by up to a radian.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

constexpr std::int64_t kPositions[] = {0,       1,           4095,          32767, 131071,
                                       1048575, 16777217LL, 2147483647LL};

// Rotates (1, 0) in every pair at every position, so each pair's output is
// (cos, sin) as the library formed it, rounded to T.
template <class T>
std::vector<T> cos_sin_probe(double base, std::int64_t d) {
  const std::int64_t tokens = std::size(kPositions);
  std::vector<T> x(static_cast<std::size_t>(tokens * d), T(0.0f));
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t j = 0; j < d / 2; ++j) x[static_cast<std::size_t>(t * d + 2 * j)] = T(1.0f);
  Rope<scaling::Default, gptj> rope{RotaryDims(d), scaling::Default(base)};
  rope.apply_q(token_major_view(x.data(), tokens, 1, d), Positions(kPositions, tokens));
  return x;
}

template <class T>
double max_error(double base, std::int64_t d) {
  static_assert(std::numeric_limits<long double>::digits >= 64,
                "the long-double oracle needs extended precision");
  const auto x = cos_sin_probe<T>(base, d);
  const auto w = default_inv_freq(base, d);
  double worst = 0.0;
  for (std::size_t t = 0; t < std::size(kPositions); ++t) {
    for (std::int64_t j = 0; j < d / 2; ++j) {
      const long double angle = static_cast<long double>(kPositions[t]) * w[static_cast<std::size_t>(j)];
      const std::size_t i = t * static_cast<std::size_t>(d) + 2 * static_cast<std::size_t>(j);
      worst = std::max(worst, std::fabs(to_double(x[i]) - static_cast<double>(std::cos(angle))));
      worst = std::max(worst, std::fabs(to_double(x[i + 1]) - static_cast<double>(std::sin(angle))));
    }
  }
  return worst;
}

class ExactAngles : public ::testing::TestWithParam<std::tuple<double, std::int64_t>> {};

TEST_P(ExactAngles, FloatWithin2e7OfLongDouble) {
  const auto [base, d] = GetParam();
  EXPECT_LE(max_error<float>(base, d), 2e-7);
}

// In double storage nothing rounds to float, which shows the angle itself
// is exact (well past float precision).
TEST_P(ExactAngles, DoubleWithin1e9OfLongDouble) {
  const auto [base, d] = GetParam();
  EXPECT_LE(max_error<double>(base, d), 1e-9);
}

// Base 0.5 gives frequencies up to ~2 rad per position: at 2^31-1 the
// kernels' whole quarter turns pass 2^31, which must not saturate.
INSTANTIATE_TEST_SUITE_P(BasesAndDims, ExactAngles,
                         ::testing::Combine(::testing::Values(0.5, 500.0, 10000.0, 1e6),
                                            ::testing::Values(std::int64_t{64}, std::int64_t{128})));

// Why it matters: the float32 product transformers and llama.cpp form is off
// by far more than float precision at these positions (shared reference §10).
TEST(ExactAngles, Float32ProductWouldFail) {
  const long double w1 = std::pow(10000.0L, -2.0L / 128.0L);
  const float angle32 = static_cast<float>(w1) * 100000.0f;
  EXPECT_GT(std::fabs(static_cast<long double>(angle32) - 100000.0L * w1), 4e-3L);
}

}  // namespace
