// SPDX-License-Identifier: Apache-2.0
// Exact angles at every position: cos/sin correct to float precision up to
// 2^31-1, where float32 `p * ω` (transformers, llama.cpp) is off by up to a
// radian; and at the largest inverse frequency ropekit accepts (π), on
// every kernel path.
#include <gtest/gtest.h>

#include <algorithm>
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

// The edge of the accepted range: ω = max_inv_freq (π) and frequencies just
// below it, at positions up to 2^31-1, on every kernel path. The long-double
// reference p * ω rounds by at most 2^-33 rad here.
template <class T>
double max_error_at_edge(const FrequencyTable& table, const std::vector<long double>& w) {
  const std::int64_t d = 2 * table.pairs();
  const std::int64_t ids[] = {1, 3, 4095, 1048575, 16777217, 2147483645, 2147483646, 2147483647};
  const std::int64_t tokens = std::size(ids);
  std::vector<T> x(static_cast<std::size_t>(tokens * d), T(0.0f));
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t j = 0; j < d / 2; ++j) x[static_cast<std::size_t>(t * d + 2 * j)] = T(1.0f);
  rotate<gptj>(table, RotaryDims(d), token_major_view(x.data(), tokens, 1, d), Positions(ids, tokens));
  double worst = 0.0;
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (std::int64_t j = 0; j < d / 2; ++j) {
      const long double angle = static_cast<long double>(ids[t]) * w[static_cast<std::size_t>(j)];
      const auto i = static_cast<std::size_t>(t * d + 2 * j);
      worst = std::max(worst, std::fabs(to_double(x[i]) - static_cast<double>(std::cos(angle))));
      worst = std::max(worst, std::fabs(to_double(x[i + 1]) - static_cast<double>(std::sin(angle))));
    }
  }
  return worst;
}

TEST(ExactAngles, LargestAcceptedFrequencyOnEveryPath) {
  const std::vector<long double> w = {max_inv_freq, max_inv_freq * (1.0L - 0x1p-40L),
                                      max_inv_freq * 0.999L, 3.0L, 2.718281828459045L, 1.0L,
                                      1e-3L, 0.0L};
  Frequencies f;
  f.inv_freq = w;
  const FrequencyTable table(RotaryDims(16), f);
  for (Isa isa : available_isas()) {
    const ScopedIsa scoped(isa);
    EXPECT_LE(max_error_at_edge<float>(table, w), 2e-7) << isa_name(isa);
    EXPECT_LE(max_error_at_edge<Eigen::half>(table, w), 0x1p-12 + 2e-7) << isa_name(isa);
  }
  EXPECT_LE(max_error_at_edge<double>(table, w), 1e-9);
  // Just past the edge: rejected, by the table and by a policy.
  f.inv_freq[0] = std::nextafter(max_inv_freq, 4.0L);
  expect_rejected([&] { FrequencyTable(RotaryDims(16), f); }, {"inv_freq[0] = 3.14159", "[0, pi]"});
  const double factor_past_edge = static_cast<double>(1.0L / max_inv_freq) * (1 - 0x1p-50);
  expect_rejected([&] { Rope<scaling::Linear>(RotaryDims(16), scaling::Linear(factor_past_edge)); },
                  {"factor = 0.3183098861837", "inv_freq[0] = 3.14159"});
}

// Why it matters: the float32 product transformers and llama.cpp form is off
// by far more than float precision at these positions (about 5e-3 rad at
// position 100000 for ω_1 = 10000^(-2/128); transformers computes
// `inv_freq @ position_ids` in float32, llama.cpp's ggml_rope in float).
TEST(ExactAngles, Float32ProductWouldFail) {
  const long double w1 = std::pow(10000.0L, -2.0L / 128.0L);
  const float angle32 = static_cast<float>(w1) * 100000.0f;
  EXPECT_GT(std::fabs(static_cast<long double>(angle32) - 100000.0L * w1), 4e-3L);
}

}  // namespace
