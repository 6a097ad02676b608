// SPDX-License-Identifier: Apache-2.0
// Llama 3.1 scaling against float32 values computed as transformers'
// `_compute_llama3_parameters` (and meta-llama's `apply_scaling`) compute
// them, and an independent long-double derivation: the band boundaries, the
// smooth factors, equal low/high factors (Llama 4 Scout) and every rejected
// parameter.
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

// transformers' `_compute_llama3_parameters`, written out again.
std::vector<long double> llama3_oracle(std::int64_t d, long double base, long double s,
                                       long double trained, long double lf, long double hf) {
  std::vector<long double> out;
  for (std::int64_t j = 0; j < d / 2; ++j) {
    const long double w = std::pow(base, -2.0L * j / d);
    const long double wavelen = 2 * kPi / w;
    if (wavelen < trained / hf) {
      out.push_back(w);
    } else if (wavelen > trained / lf) {
      out.push_back(w / s);
    } else {
      const long double sm = (trained / wavelen - lf) / (hf - lf);
      out.push_back((1 - sm) * w / s + sm * w);
    }
  }
  return out;
}

// Reference ω lists are float32 (transformers' arithmetic): relative 1e-6.
void expect_inv_freq(const std::vector<double>& actual,
                     const std::vector<std::pair<int, double>>& expected) {
  for (const auto& [j, w] : expected) EXPECT_NEAR(actual[j], w, 1e-6 * w) << "j=" << j;
}

void expect_matches_oracle(const Frequencies& f, const std::vector<long double>& oracle) {
  ASSERT_EQ(f.inv_freq.size(), oracle.size());
  for (std::size_t j = 0; j < oracle.size(); ++j)
    EXPECT_NEAR(static_cast<double>(f.inv_freq[j]), static_cast<double>(oracle[j]),
                1e-15 * static_cast<double>(oracle[j]))
        << "j=" << j;
}

TEST(Llama3, Llama31WorkedNumbers) {
  Rope<scaling::Llama3> rope(RotaryDims(128), scaling::Llama3::llama3_1());
  expect_inv_freq(rope.inv_freq(), {{1, 8.146172166e-01},
                                    {31, 8.567514597e-04},
                                    {32, 5.248460220e-04},
                                    {33, 3.126936499e-04},
                                    {40, 3.428102355e-05},
                                    {63, 3.068925878e-07}});
  expect_matches_oracle(rope.policy().frequencies(rope.dims()),
                        llama3_oracle(128, 5e5L, 8, 8192, 1, 4));
  EXPECT_EQ(rope.attention_factor(), 1.0);
}

// j <= 28 unchanged, j = 29..34 smoothed with transformers' sm values,
// j >= 35 divided by 8. sm is recovered from the output:
// ω'/ω = (1 - sm)/s + sm  =>  sm = (ω'/ω - 1/s) / (1 - 1/s).
TEST(Llama3, Llama31BandsAndSmoothFactors) {
  const scaling::Llama3 policy = scaling::Llama3::llama3_1();
  EXPECT_EQ(policy.high_freq_wavelen(), 2048.0L);
  EXPECT_EQ(policy.low_freq_wavelen(), 8192.0L);
  const RotaryDims dims(128);
  const Frequencies scaled = policy.frequencies(dims);
  const Frequencies plain = detail::default_frequencies(5e5L, dims);
  const double sm_reference[] = {0.803621, 0.592849, 0.421151, 0.281283, 0.167343, 0.074527};
  for (int j = 0; j < 64; ++j) {
    const long double wavelen = 2 * kPi / plain.inv_freq[j];
    if (j <= 28) {
      EXPECT_LT(wavelen, 2048.0L) << j;
      EXPECT_EQ(scaled.inv_freq[j], plain.inv_freq[j]) << j;
    } else if (j <= 34) {
      EXPECT_GE(wavelen, 2048.0L) << j;
      EXPECT_LE(wavelen, 8192.0L) << j;
      const long double ratio = scaled.inv_freq[j] / plain.inv_freq[j];
      const double sm = static_cast<double>((ratio - 1.0L / 8) / (1 - 1.0L / 8));
      EXPECT_NEAR(sm, sm_reference[j - 29], 1e-6) << j;  // 6 decimals given
      EXPECT_NEAR(sm, static_cast<double>((8192 / wavelen - 1) / 3), 1e-15) << j;
    } else {
      EXPECT_GT(wavelen, 8192.0L) << j;
      EXPECT_EQ(scaled.inv_freq[j], plain.inv_freq[j] / 8) << j;
    }
  }
}

// A smaller case (base 1e4, s 4, L0 4096, lf 1, hf 4): medium band j = 36..45.
TEST(Llama3, SmallerContextCase) {
  const scaling::Llama3 policy(4.0, 1.0, 4.0, 4096, 10000.0);
  Rope<scaling::Llama3> rope(RotaryDims(128), policy);
  expect_inv_freq(rope.inv_freq(),
                  {{40, 1.629746752e-03}, {45, 3.864738683e-04}, {46, 3.333803616e-04}});
  const RotaryDims dims(128);
  const Frequencies scaled = policy.frequencies(dims);
  const Frequencies plain = detail::default_frequencies(1e4L, dims);
  for (int j = 0; j < 64; ++j) {
    const bool medium = j >= 36 && j <= 45;
    const bool high = j < 36;
    if (high) {
      EXPECT_EQ(scaled.inv_freq[j], plain.inv_freq[j]) << j;
    } else if (!medium) {
      EXPECT_EQ(scaled.inv_freq[j], plain.inv_freq[j] / 4) << j;
    } else {
      EXPECT_LT(scaled.inv_freq[j], plain.inv_freq[j]) << j;
      EXPECT_GT(scaled.inv_freq[j], plain.inv_freq[j] / 4) << j;
    }
  }
  expect_matches_oracle(scaled, llama3_oracle(128, 1e4L, 4, 4096, 1, 4));
}

// ω'/ω runs monotonically from 1 down to 1/s: the blend is continuous at
// both band edges, for several geometries including partial rotary.
TEST(Llama3, ScaleRatioIsMonotone) {
  for (const RotaryDims& dims : {RotaryDims(128), RotaryDims(64), RotaryDims(128, 96)}) {
    for (double s : {2.0, 8.0, 32.0}) {
      const scaling::Llama3 policy(s, 1.0, 4.0, 8192, 500000.0);
      const Frequencies scaled = policy.frequencies(dims);
      const Frequencies plain = detail::default_frequencies(5e5L, dims);
      long double previous = 1.0L;
      for (std::size_t j = 0; j < scaled.inv_freq.size(); ++j) {
        const long double ratio = scaled.inv_freq[j] / plain.inv_freq[j];
        EXPECT_LE(ratio, previous + 1e-18L) << j;
        EXPECT_GE(ratio, 1.0L / s - 1e-18L) << j;
        previous = ratio;
      }
      expect_matches_oracle(scaled, llama3_oracle(dims.rotary_dim(), 5e5L, s, 8192, 1, 4));
    }
  }
}

// Llama 4 Scout ships low_freq_factor == high_freq_factor == 1: no medium
// band, a step at wavelength 8192 (vLLM sets sm = 0; transformers' 0/0
// sits in a branch no pair takes).
TEST(Llama3, EqualFactorsAreAStep) {
  const scaling::Llama3 policy(16.0, 1.0, 1.0, 8192, 500000.0);
  const RotaryDims dims(128);
  const Frequencies scaled = policy.frequencies(dims);
  const Frequencies plain = detail::default_frequencies(5e5L, dims);
  for (int j = 0; j < 64; ++j) {
    ASSERT_TRUE(std::isfinite(scaled.inv_freq[j])) << j;
    const long double wavelen = 2 * kPi / plain.inv_freq[j];
    EXPECT_EQ(scaled.inv_freq[j], wavelen < 8192 ? plain.inv_freq[j] : plain.inv_freq[j] / 16) << j;
  }
  EXPECT_NO_THROW(Rope<scaling::Llama3>(dims, policy));
}

TEST(Llama3, RejectsBadParameters) {
  using scaling::Llama3;
  for (double bad : {kNaN, kInf, -kInf, 0.0, -1.0}) {
    expect_rejected([&] { Llama3(bad, 1, 4, 8192, 5e5); }, {"factor = "});
    expect_rejected([&] { Llama3(8, bad, 4, 8192, 5e5); }, {"low_freq_factor = "});
    expect_rejected([&] { Llama3(8, 1, bad, 8192, 5e5); }, {"high_freq_factor = "});
    expect_rejected([&] { Llama3(8, 1, 4, 8192, bad); }, {"base = "});
  }
  expect_rejected([] { Llama3(kNaN, 1, 4, 8192, 5e5); }, {"factor = nan"});
  // Swapped factors: the band would be empty and sm would run backwards.
  expect_rejected([] { Llama3(8, 4, 1, 8192, 5e5); },
                  {"high_freq_factor = 1", "low_freq_factor = 4"});
  expect_rejected([] { Llama3(8, 1, 4, 0, 5e5); }, {"original_max_position_embeddings = 0"});
  expect_rejected([] { Llama3(8, 1, 4, -8192, 5e5); },
                  {"original_max_position_embeddings = -8192"});
}

}  // namespace
