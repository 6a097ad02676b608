// SPDX-License-Identifier: Apache-2.0
// Shared by the config-loading tests: the test data, formulas for inverse
// frequencies written out here in long double (transformers'
// modeling_rope_utils.py: default, yarn, llama3; not the library's
// policies), and checks that an error names the file and the field.
#ifndef ROPEKIT_TESTS_HF_CONFIG_UTIL_HPP
#define ROPEKIT_TESTS_HF_CONFIG_UTIL_HPP

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <ropekit/hf_config.hpp>

#include "test_util.hpp"

#ifndef ROPEKIT_TEST_DATA_DIR
#error "ROPEKIT_TEST_DATA_DIR must name tests/data"
#endif

namespace hf_test {

using namespace ropekit;
using namespace ropekit_test;
using nlohmann::json;

inline const long double kPi = 3.141592653589793238462643383279502884L;

inline std::string data(const std::string& name) {
  return std::string(ROPEKIT_TEST_DATA_DIR) + "/" + name;
}

inline json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// --- independent formulas (transformers modeling_rope_utils.py: default,
// yarn, longrope and llama3 parameters) ---------------------------------------

inline std::vector<long double> llama3_inv_freq(long double base, std::int64_t d, long double s,
                                                long double lf, long double hf, long double l0) {
  std::vector<long double> w = default_inv_freq(base, d);
  for (auto& x : w) {
    const long double wavelen = 2 * kPi / x;
    if (wavelen < l0 / hf) continue;
    if (wavelen > l0 / lf) {
      x /= s;
      continue;
    }
    const long double sm = (l0 / wavelen - lf) / (hf - lf);
    x = (1 - sm) * x / s + sm * x;
  }
  return w;
}

struct YarnRange {
  long double low, high;
};

inline YarnRange yarn_range(long double base, std::int64_t d, long double l0, long double beta_fast,
                            long double beta_slow, bool truncate) {
  const auto c = [&](long double r) {
    return static_cast<long double>(d) * std::log(l0 / (r * 2 * kPi)) / (2 * std::log(base));
  };
  long double low = c(beta_fast), high = c(beta_slow);
  if (truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  return {std::max(low, 0.0L), std::min(high, static_cast<long double>(d - 1))};
}

inline std::vector<long double> yarn_inv_freq(long double base, std::int64_t d, long double s,
                                              long double l0, long double beta_fast,
                                              long double beta_slow, bool truncate) {
  YarnRange range = yarn_range(base, d, l0, beta_fast, beta_slow, truncate);
  if (range.low == range.high) range.high += 0.001L;
  std::vector<long double> w = default_inv_freq(base, d);
  for (std::size_t j = 0; j < w.size(); ++j) {
    const long double ramp = std::clamp(
        (static_cast<long double>(j) - range.low) / (range.high - range.low), 0.0L, 1.0L);
    const long double extrapolate = 1 - ramp;
    w[j] = w[j] / s * (1 - extrapolate) + w[j] * extrapolate;
  }
  return w;
}

inline long double yarn_g(long double s, long double m) {
  return s <= 1 ? 1 : 0.1L * m * std::log(s) + 1;
}

inline void expect_inv_freq(const std::vector<double>& actual,
                            const std::vector<long double>& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t j = 0; j < expected.size(); ++j)
    EXPECT_NEAR(actual[j], static_cast<double>(expected[j]),
                1e-15 * static_cast<double>(std::fabs(expected[j])))
        << what << " pair " << j;
}

// The AnyRope from a config rotates q/k exactly as `rope` does, over calls
// that cross every trained length (so length-dependent state moves too).
template <class T, class P, Layout L>
void expect_rotates_like(const HfRopeConfig& config, Rope<P, L> rope) {
  AnyRope any = config.rope;
  ASSERT_EQ(any.layout(), L) << config.source;
  ASSERT_EQ(any.dims(), rope.dims()) << config.source;
  ASSERT_STREQ(any.policy_name(), P::name) << config.source;
  const std::int64_t head_dim = rope.dims().head_dim(), tokens = 4, q_heads = 3, k_heads = 1;
  auto q1 = random_values<T>(tokens * q_heads * head_dim, 21);
  auto k1 = random_values<T>(tokens * k_heads * head_dim, 22);
  auto q2 = q1;
  auto k2 = k1;
  const std::vector<std::vector<std::int64_t>> calls = {
      {0, 1, 2, 3}, {4095, 4096, 131071, 200000}, {7, 8, 9, 10}, {1 << 30, 5, 6, 2147483647}};
  for (const auto& ids : calls) {
    const Positions positions(ids.data(), tokens);
    rope.apply(token_major_view(q1.data(), tokens, q_heads, head_dim),
               token_major_view(k1.data(), tokens, k_heads, head_dim), positions);
    any.apply(token_major_view(q2.data(), tokens, q_heads, head_dim),
              token_major_view(k2.data(), tokens, k_heads, head_dim), positions);
    EXPECT_TRUE(bytes_equal(q1, q2)) << config.source << " " << storage_name<T>();
    EXPECT_TRUE(bytes_equal(k1, k2)) << config.source << " " << storage_name<T>();
    EXPECT_EQ(rope.inv_freq(), any.inv_freq()) << config.source;
    EXPECT_EQ(rope.attention_factor(), any.attention_factor()) << config.source;
  }
}

template <class P, Layout L>
void expect_rotates_like(const HfRopeConfig& config, const RotaryDims& dims, const P& policy) {
  // Float (SIMD path) and double (scalar path); AnyRope forwards the element
  // type unchanged, and each AnyRope<T> use instantiates all twenty Rope
  // types, so further types would only add compile time.
  expect_rotates_like<float>(config, Rope<P, L>(dims, policy));
  expect_rotates_like<double>(config, Rope<P, L>(dims, policy));
}

// A config given inline, named "config.json" in messages.
inline HfRopeConfig from(const json& j) { return hf_config_from_json(j, "config.json"); }

inline json llama_like() {
  return json{{"model_type", "llama"},
              {"hidden_size", 4096},
              {"num_attention_heads", 32},
              {"max_position_embeddings", 131072},
              {"rope_theta", 1e6}};
}

// Runs `load`, expects HfConfigError with `field`, and checks the message
// names the source and the field (plus `fragment` when given).
template <class Load>
void expect_error(Load load, const std::string& source, const std::string& field,
                  const std::string& fragment = "") {
  try {
    load();
    ADD_FAILURE() << "no error for " << field;
  } catch (const HfConfigError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.source(), source) << what;
    EXPECT_EQ(e.field(), field) << what;
    EXPECT_EQ(what.rfind("ropekit: " + source + ": " + field, 0), 0u) << what;
    if (!fragment.empty()) {
      EXPECT_NE(what.find(fragment), std::string::npos) << what;
    }
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    // HfConfigError is the std::invalid_argument every ropekit error is.
    const std::invalid_argument& base = e;
    EXPECT_STREQ(base.what(), e.what());
  }
}

inline void expect_json_error(const json& j, const std::string& field,
                              const std::string& fragment = "") {
  expect_error([&] { from(j); }, "config.json", field, fragment);
}

inline std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/ropekit_hf_" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace hf_test

#endif  // ROPEKIT_TESTS_HF_CONFIG_UTIL_HPP
