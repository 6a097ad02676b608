// SPDX-License-Identifier: Apache-2.0
// Loading transformers config.json files: every published config in
// tests/data loads; its inverse frequencies and attention factor match
// formulas written out here in long double (not the library's policies) and
// float32 values computed the way transformers' `_compute_*_parameters`
// functions (modeling_rope_utils.py) compute them; the AnyRope it builds rotates
// exactly like the compile-time Rope<P, L> with the same parameters; and
// every kind of bad config raises an error naming the file and the field.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <ropekit/hf_config.hpp>

#include "test_util.hpp"

#ifndef ROPEKIT_TEST_DATA_DIR
#error "ROPEKIT_TEST_DATA_DIR must name tests/data"
#endif

namespace {

using namespace ropekit;
using namespace ropekit_test;
using nlohmann::json;

const long double kPi = 3.141592653589793238462643383279502884L;

std::string data(const std::string& name) {
  return std::string(ROPEKIT_TEST_DATA_DIR) + "/" + name;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// --- independent formulas (transformers modeling_rope_utils.py: default,
// yarn, longrope and llama3 parameters) ---------------------------------------

std::vector<long double> llama3_inv_freq(long double base, std::int64_t d, long double s,
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

YarnRange yarn_range(long double base, std::int64_t d, long double l0, long double beta_fast,
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

std::vector<long double> yarn_inv_freq(long double base, std::int64_t d, long double s,
                                       long double l0, long double beta_fast, long double beta_slow,
                                       bool truncate) {
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

long double yarn_g(long double s, long double m) { return s <= 1 ? 1 : 0.1L * m * std::log(s) + 1; }

void expect_inv_freq(const std::vector<double>& actual, const std::vector<long double>& expected,
                     const std::string& what) {
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

// --- the published configs --------------------------------------------------

TEST(HfConfig, Llama2) {
  const HfRopeConfig c = load_hf_config(data("llama-2-7b.json"));
  EXPECT_EQ(c.source, data("llama-2-7b.json"));
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.rope_type, "default");
  EXPECT_EQ(c.rope_block_key, "");  // rope_scaling: null
  EXPECT_TRUE(c.scaling_parameters.is_null());
  EXPECT_EQ(c.base, 10000.0);  // absent: LlamaConfig's default
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.rotary_dim, 128);
  EXPECT_EQ(c.layout, Layout::half_split);
  EXPECT_EQ(c.max_position_embeddings, 4096);
  EXPECT_FALSE(c.original_max_position_embeddings);
  EXPECT_EQ(c.train_length(), 4096);
  ASSERT_FALSE(c.notes.empty());
  EXPECT_NE(c.notes[0].find("rope_theta absent"), std::string::npos);
  expect_inv_freq(c.rope.inv_freq(), default_inv_freq(10000.0L, 128), "llama-2");
  EXPECT_EQ(c.rope.attention_factor(), 1.0);
  // transformers' float32 inv_freq = 1 / 10000^(arange(0, 128, 2) / 128).
  const auto& w = c.rope.inv_freq();
  EXPECT_NEAR(w[1], 8.659643531e-01, 1e-6 * 8.66e-01);
  EXPECT_NEAR(w[32], 9.999999776e-03, 1e-6 * 1e-2);
  EXPECT_NEAR(w[63], 1.154782076e-04, 1e-6 * 1.15e-4);
  expect_rotates_like<scaling::Default, neox>(c, RotaryDims(128), scaling::Default(10000.0));
}

TEST(HfConfig, CodeLlama) {
  const HfRopeConfig c = load_hf_config(data("codellama-7b.json"));
  EXPECT_EQ(c.rope_type, "default");
  EXPECT_EQ(c.base, 1e6);  // written as the integer 1000000
  EXPECT_EQ(c.max_position_embeddings, 16384);
  EXPECT_TRUE(c.notes.empty());
  expect_inv_freq(c.rope.inv_freq(), default_inv_freq(1e6L, 128), "codellama");
  expect_rotates_like<scaling::Default, neox>(c, RotaryDims(128), scaling::Default(1e6));
}

TEST(HfConfig, Llama31) {
  const HfRopeConfig c = load_hf_config(data("llama-3.1-8b.json"));
  EXPECT_EQ(c.rope_type, "llama3");
  EXPECT_EQ(c.rope_type_as_written, "llama3");
  EXPECT_EQ(c.rope_block_key, "rope_scaling");
  EXPECT_EQ(c.scaling_parameters.at("factor").get<double>(), 8.0);
  EXPECT_EQ(c.base, 500000.0);
  EXPECT_EQ(c.original_max_position_embeddings, 8192);
  EXPECT_EQ(c.train_length(), 8192);
  expect_inv_freq(c.rope.inv_freq(), llama3_inv_freq(5e5L, 128, 8, 1, 4, 8192), "llama3.1");
  EXPECT_EQ(c.rope.attention_factor(), 1.0);
  // transformers' `_compute_llama3_parameters` in float32 (Llama 3.1 values).
  const auto& w = c.rope.inv_freq();
  const double expected[][2] = {{1, 8.146172166e-01},  {31, 8.567514597e-04},
                                {32, 5.248460220e-04}, {33, 3.126936499e-04},
                                {40, 3.428102355e-05}, {63, 3.068925878e-07}};
  for (const auto& e : expected)
    EXPECT_NEAR(w[static_cast<std::size_t>(e[0])], e[1], 1e-6 * e[1]) << "pair " << e[0];
  // Pairs 0..28 unchanged, 35.. divided by 8.
  const auto plain = default_inv_freq(5e5L, 128);
  for (std::size_t j = 0; j <= 28; ++j) EXPECT_EQ(w[j], static_cast<double>(plain[j])) << j;
  for (std::size_t j = 35; j < 64; ++j)
    EXPECT_NEAR(w[j], static_cast<double>(plain[j] / 8), 1e-15 * w[j]) << j;
  expect_rotates_like<scaling::Llama3, neox>(c, RotaryDims(128),
                                             scaling::Llama3(8.0, 1.0, 4.0, 8192, 500000.0));
}

TEST(HfConfig, Mistral) {
  const HfRopeConfig c = load_hf_config(data("mistral-7b-v0.1.json"));
  EXPECT_EQ(c.model_type, "mistral");
  EXPECT_EQ(c.rope_type, "default");
  EXPECT_EQ(c.rope_block_key, "");  // no rope_scaling key at all
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.max_position_embeddings, 32768);
  expect_inv_freq(c.rope.inv_freq(), default_inv_freq(1e4L, 128), "mistral");
  expect_rotates_like<scaling::Default, neox>(c, RotaryDims(128), scaling::Default(1e4));
}

TEST(HfConfig, Qwen25YarnFactor4) {
  const HfRopeConfig c = load_hf_config(data("qwen2.5-7b-instruct-yarn.json"));
  EXPECT_EQ(c.rope_type, "yarn");
  EXPECT_EQ(c.rope_type_as_written, "yarn");  // legacy "type" key
  EXPECT_EQ(c.head_dim, 128);                 // 3584 / 28
  EXPECT_EQ(c.base, 1e6);
  EXPECT_EQ(c.original_max_position_embeddings, 32768);
  // The explicit factor 4 is used even though max_position_embeddings (32768)
  // / L0 (32768) is 1: transformers #38224, fixed by PR #40320.
  const auto* yarn = c.rope.policy_if<scaling::Yarn>();
  ASSERT_NE(yarn, nullptr);
  EXPECT_EQ(yarn->factor(), 4.0);
  expect_inv_freq(c.rope.inv_freq(), yarn_inv_freq(1e6L, 128, 4, 32768, 32, 1, true), "qwen2.5");
  EXPECT_NEAR(c.rope.attention_factor(), 1.138629436, 1e-9);  // g(4) = 0.1 ln 4 + 1
  EXPECT_EQ(c.rope.attention_factor(), static_cast<double>(yarn_g(4, 1)));
  expect_rotates_like<scaling::Yarn, neox>(c, RotaryDims(128), scaling::Yarn(4.0, 32768, 1e6));
}

TEST(HfConfig, Phi3Mini128kLongRope) {
  const std::string path = data("phi-3-mini-128k-instruct.json");
  const HfRopeConfig c = load_hf_config(path);
  EXPECT_EQ(c.rope_type, "longrope");
  EXPECT_EQ(c.head_dim, 96);  // 3072 / 32
  EXPECT_EQ(c.rotary_dim, 96);
  EXPECT_EQ(c.original_max_position_embeddings, 4096);  // top level, as Phi-3 writes it
  EXPECT_EQ(c.train_length(), 4096);
  EXPECT_TRUE(c.rope.length_dependent());
  const json raw = read_json(path);
  const auto short_factor = raw.at("rope_scaling").at("short_factor").get<std::vector<double>>();
  const auto long_factor = raw.at("rope_scaling").at("long_factor").get<std::vector<double>>();
  ASSERT_EQ(short_factor.size(), 48u);
  ASSERT_EQ(long_factor.size(), 48u);
  // Short factors until a call passes L0, long ones after (transformers).
  auto expected_short = default_inv_freq(1e4L, 96);
  auto expected_long = expected_short;
  for (std::size_t j = 0; j < 48; ++j) {
    expected_short[j] /= static_cast<long double>(short_factor[j]);
    expected_long[j] /= static_cast<long double>(long_factor[j]);
  }
  expect_inv_freq(c.rope.inv_freq(), expected_short, "phi-3 short");
  expect_inv_freq(c.rope.table_for_length(4096).inv_freq(), expected_short, "phi-3 at 4096");
  expect_inv_freq(c.rope.table_for_length(4097).inv_freq(), expected_long, "phi-3 at 4097");
  // sqrt(1 + ln(131072/4096) / ln 4096) = 1.190238071 (transformers'
  // `_compute_longrope_parameters`).
  const long double m = std::sqrt(1 + std::log(32.0L) / std::log(4096.0L));
  EXPECT_EQ(c.rope.attention_factor(), static_cast<double>(m));
  EXPECT_NEAR(c.rope.attention_factor(), 1.190238071, 1e-9);

  scaling::LongRope::Params p;
  p.short_factor = short_factor;
  p.long_factor = long_factor;
  p.original_max_position_embeddings = 4096;
  p.max_position_embeddings = 131072;
  p.base = 10000.0;
  expect_rotates_like<scaling::LongRope, neox>(c, RotaryDims(96), scaling::LongRope(p));
}

TEST(HfConfig, DeepSeekV2LiteYarnMla) {
  const HfRopeConfig c = load_hf_config(data("deepseek-v2-lite.json"));
  EXPECT_EQ(c.rope_type, "yarn");
  EXPECT_EQ(c.head_dim, 64);  // qk_rope_head_dim, not hidden_size / heads = 128
  EXPECT_EQ(c.rotary_dim, 64);
  EXPECT_EQ(c.layout, Layout::interleaved);
  EXPECT_EQ(c.original_max_position_embeddings, 4096);
  expect_inv_freq(c.rope.inv_freq(), yarn_inv_freq(1e4L, 64, 40, 4096, 32, 1, true), "deepseek");
  // mscale == mscale_all_dim: exactly 1 (transformers `_compute_yarn_parameters`).
  EXPECT_EQ(c.rope.attention_factor(), 1.0);
  const auto* yarn = c.rope.policy_if<scaling::Yarn>();
  ASSERT_NE(yarn, nullptr);
  EXPECT_EQ(yarn->params().mscale, 0.707);
  EXPECT_EQ(yarn->params().mscale_all_dim, 0.707);
  // The softmax scale DeepSeek attention applies, g(40, 0.707)^2
  // (transformers' DeepseekV2Attention, vLLM DeepseekScalingRotaryEmbedding).
  EXPECT_NEAR(yarn->softmax_scale_multiplier(), 1.589626165, 1e-9);
  EXPECT_NEAR(yarn->softmax_scale_multiplier(),
              static_cast<double>(yarn_g(40, 0.707L) * yarn_g(40, 0.707L)), 1e-15);
  scaling::Yarn::Params p;
  p.factor = 40;
  p.original_max_position_embeddings = 4096;
  p.base = 10000;
  p.mscale = 0.707;
  p.mscale_all_dim = 0.707;
  expect_rotates_like<scaling::Yarn, gptj>(c, RotaryDims(64), scaling::Yarn(p));
}

TEST(HfConfig, GptNeoXPartialRotary) {
  const HfRopeConfig c = load_hf_config(data("gpt-neox-20b.json"));
  EXPECT_EQ(c.model_type, "gpt_neox");
  EXPECT_EQ(c.head_dim, 96);    // 6144 / 64
  EXPECT_EQ(c.rotary_dim, 24);  // int(96 * 0.25)
  EXPECT_EQ(c.partial_rotary_factor, 0.25);
  EXPECT_EQ(c.base, 10000.0);  // rotary_emb_base
  EXPECT_EQ(c.layout, Layout::half_split);
  expect_inv_freq(c.rope.inv_freq(), default_inv_freq(1e4L, 24), "neox");
  expect_rotates_like<scaling::Default, neox>(c, RotaryDims(96, 24), scaling::Default(1e4));
}

TEST(HfConfig, GptJInterleavedPartial) {
  const HfRopeConfig c = load_hf_config(data("gpt-j-6b.json"));
  EXPECT_EQ(c.head_dim, 256);  // n_embd / n_head
  EXPECT_EQ(c.rotary_dim, 64);
  EXPECT_EQ(c.layout, Layout::interleaved);
  EXPECT_EQ(c.max_position_embeddings, 2048);  // n_positions
  EXPECT_EQ(c.base, 10000.0);
  expect_inv_freq(c.rope.inv_freq(), default_inv_freq(1e4L, 64), "gpt-j");
  expect_rotates_like<scaling::Default, gptj>(c, RotaryDims(256, 64), scaling::Default(1e4));
}

TEST(HfConfig, Qwen2VlMrope) {
  const HfRopeConfig c = load_hf_config(data("qwen2-vl-7b-instruct.json"));
  EXPECT_EQ(c.rope_type, "default");  // transformers rewrites type "mrope" to default
  EXPECT_EQ(c.rope_type_as_written, "mrope");
  EXPECT_STREQ(c.rope.policy_name(), "mrope");
  EXPECT_EQ(c.base, 1e6);
  expect_inv_freq(c.rope.inv_freq(), default_inv_freq(1e6L, 128), "qwen2-vl");
  const FrequencyTable& table = c.rope.table();
  EXPECT_EQ(table.axes(), 3);
  for (std::int64_t j = 0; j < 64; ++j)
    EXPECT_EQ(table.position_axis()[j], j < 16 ? 0 : (j < 40 ? 1 : 2)) << j;
  expect_rotates_like<scaling::Mrope<>, neox>(
      c, RotaryDims(128), scaling::Mrope<>({16, 24, 24}, scaling::Default(1e6)));
}

TEST(HfConfig, GptOssYarnNoTruncate) {
  const HfRopeConfig c = load_hf_config(data("gpt-oss-20b.json"));
  EXPECT_EQ(c.rope_type, "yarn");
  EXPECT_EQ(c.head_dim, 64);  // given; hidden_size / heads would be 45
  EXPECT_EQ(c.base, 150000.0);
  const auto* yarn = c.rope.policy_if<scaling::Yarn>();
  ASSERT_NE(yarn, nullptr);
  EXPECT_FALSE(yarn->params().truncate);
  // transformers `find_correction_range` with truncate = false:
  // low = 8.092779116, high = 17.398024502 (not floored/ceiled).
  const YarnRange range = yarn_range(150000.0L, 64, 4096, 32, 1, false);
  EXPECT_NEAR(static_cast<double>(range.low), 8.092779116, 1e-9);
  EXPECT_NEAR(static_cast<double>(range.high), 17.398024502, 1e-9);
  const auto lib_range = yarn->correction_range(c.rope.dims());
  EXPECT_NEAR(static_cast<double>(lib_range.low), 8.092779116, 1e-9);
  EXPECT_NEAR(static_cast<double>(lib_range.high), 17.398024502, 1e-9);
  expect_inv_freq(c.rope.inv_freq(), yarn_inv_freq(150000.0L, 64, 32, 4096, 32, 1, false),
                  "gpt-oss");
  EXPECT_NEAR(c.rope.attention_factor(), 1.346573590, 1e-9);  // g(32)
  scaling::Yarn::Params p;
  p.factor = 32;
  p.original_max_position_embeddings = 4096;
  p.base = 150000;
  p.truncate = false;
  expect_rotates_like<scaling::Yarn, neox>(c, RotaryDims(64), scaling::Yarn(p));
}

// --- other shapes transformers writes ------------------------------------

HfRopeConfig from(const json& j) { return hf_config_from_json(j, "config.json"); }

json llama_like() {
  return json{{"model_type", "llama"},
              {"hidden_size", 4096},
              {"num_attention_heads", 32},
              {"max_position_embeddings", 131072},
              {"rope_theta", 1e6}};
}

TEST(HfConfig, TransformersV5RopeParameters) {
  json j = llama_like();
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_type", "yarn"},
                          {"factor", 4.0},
                          {"original_max_position_embeddings", 32768},
                          {"rope_theta", 1e6},
                          {"partial_rotary_factor", 0.5}};
  const HfRopeConfig c = from(j);
  EXPECT_EQ(c.rope_block_key, "rope_parameters");
  EXPECT_EQ(c.base, 1e6);
  EXPECT_EQ(c.rotary_dim, 64);
  EXPECT_EQ(c.partial_rotary_factor, 0.5);
  expect_inv_freq(c.rope.inv_freq(), yarn_inv_freq(1e6L, 64, 4, 32768, 32, 1, true), "v5");
  // Both keys, equal values: accepted.
  j["rope_theta"] = 1e6;
  j["rope_scaling"] = j["rope_parameters"];
  EXPECT_EQ(from(j).base, 1e6);
}

TEST(HfConfig, LegacyNamesAndPrecedence) {
  // "su" is longrope; original_max_position_embeddings at the top level.
  json j = llama_like();
  j["original_max_position_embeddings"] = 4096;
  j["rope_scaling"] = {{"type", "su"},
                       {"short_factor", std::vector<double>(64, 1.0)},
                       {"long_factor", std::vector<double>(64, 4.0)}};
  HfRopeConfig c = from(j);
  EXPECT_EQ(c.rope_type, "longrope");
  EXPECT_EQ(c.rope_type_as_written, "su");
  expect_inv_freq(
      c.rope.table_for_length(5000).inv_freq(),
      [] {
        auto w = default_inv_freq(1e6L, 128);
        for (auto& x : w) x /= 4;
        return w;
      }(),
      "su long");

  // rope_type beats type, as in transformers, with a note.
  j = llama_like();
  j["rope_scaling"] = {{"type", "linear"}, {"rope_type", "dynamic"}, {"factor", 2.0}};
  c = from(j);
  EXPECT_EQ(c.rope_type, "dynamic");
  EXPECT_STREQ(c.rope.policy_name(), "dynamic");
  EXPECT_TRUE(c.rope.length_dependent());
  ASSERT_FALSE(c.notes.empty());
  EXPECT_NE(c.notes[0].find("rope_scaling.type"), std::string::npos);

  // deepseek_yarn is vLLM's name for yarn.
  j = llama_like();
  j["rope_scaling"] = {
      {"type", "deepseek_yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 4096}};
  EXPECT_STREQ(from(j).rope.policy_name(), "yarn");
}

TEST(HfConfig, YarnFactorAndOriginalLengthFallbacks) {
  // No factor: max_position_embeddings / L0.
  json j = llama_like();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"original_max_position_embeddings", 32768}};
  HfRopeConfig c = from(j);
  EXPECT_EQ(c.rope.policy_if<scaling::Yarn>()->factor(), 4.0);
  // No L0: max_position_embeddings, as transformers.
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 2.0}};
  c = from(j);
  EXPECT_EQ(c.original_max_position_embeddings, 131072);
  EXPECT_EQ(c.rope.policy_if<scaling::Yarn>()->original_max_position_embeddings(), 131072);
  // Explicit attention_factor wins.
  j["rope_scaling"]["attention_factor"] = 1.25;
  EXPECT_EQ(from(j).rope.attention_factor(), 1.25);
}

TEST(HfConfig, Qwen3VlInterleavedMropeAndYarnMrope) {
  json j = {
      {"model_type", "qwen3_vl_text"},
      {"head_dim", 128},
      {"hidden_size", 4096},
      {"num_attention_heads", 32},
      {"max_position_embeddings", 262144},
      {"rope_theta", 5000000},
      {"rope_scaling",
       {{"rope_type", "default"}, {"mrope_section", {24, 20, 20}}, {"mrope_interleaved", true}}}};
  HfRopeConfig c = from(j);
  const auto* mrope = c.rope.policy_if<scaling::Mrope<>>();
  ASSERT_NE(mrope, nullptr);
  EXPECT_EQ(mrope->layout(), scaling::MropeLayout::interleaved);
  for (std::int64_t p = 0; p < 64; ++p) {
    const int axis = (p % 3 == 1 && p < 60) ? 1 : ((p % 3 == 2 && p < 60) ? 2 : 0);
    EXPECT_EQ(c.rope.table().position_axis()[p], axis) << p;
  }
  // yarn + mrope_section (vLLM): M-RoPE over YaRN frequencies.
  j["rope_scaling"] = {{"rope_type", "yarn"},
                       {"factor", 4.0},
                       {"original_max_position_embeddings", 32768},
                       {"mrope_section", {16, 24, 24}}};
  c = from(j);
  ASSERT_NE(c.rope.policy_if<scaling::Mrope<scaling::Yarn>>(), nullptr);
  expect_inv_freq(c.rope.inv_freq(), yarn_inv_freq(5e6L, 128, 4, 32768, 32, 1, true), "mrope yarn");
}

TEST(HfConfig, NestedTextConfigAndNullHeadDim) {
  json j = {{"model_type", "llava"},
            {"text_config",
             {{"hidden_size", 4096},
              {"num_attention_heads", 32},
              {"head_dim", nullptr},
              {"rope_theta", 500000.0},
              {"max_position_embeddings", 8192}}}};
  const HfRopeConfig c = from(j);
  EXPECT_EQ(c.model_type, "llava");
  EXPECT_EQ(c.head_dim, 128);  // head_dim null: transformers falls back to hidden / heads
  EXPECT_EQ(c.base, 500000.0);
}

TEST(HfConfig, LayoutChoice) {
  json j = llama_like();
  EXPECT_EQ(from(j).layout, Layout::half_split);
  for (const char* family : {"gptj", "codegen", "deepseek_v2", "deepseek_v3", "cohere", "glm"}) {
    j["model_type"] = family;
    EXPECT_EQ(from(j).layout, Layout::interleaved) << family;
  }
  j["rope_interleave"] = false;  // the config's own flag wins
  EXPECT_EQ(from(j).layout, Layout::half_split);
  j["model_type"] = "kimi_k2";
  j["rope_interleave"] = true;
  EXPECT_EQ(from(j).layout, Layout::interleaved);
}

// Llama 4 Scout: interleaved pairs, and llama3 scaling with low_freq_factor
// == high_freq_factor == 1 (no smooth band: a hard step at L0 = 8192).
TEST(HfConfig, Llama4ScoutInterleavedHardStep) {
  const json j = {{"model_type", "llama4"},
                  {"text_config",
                   {{"model_type", "llama4_text"},
                    {"hidden_size", 5120},
                    {"num_attention_heads", 40},
                    {"head_dim", 128},
                    {"rope_theta", 500000.0},
                    {"max_position_embeddings", 10485760},
                    {"rope_scaling",
                     {{"rope_type", "llama3"},
                      {"factor", 16.0},
                      {"low_freq_factor", 1.0},
                      {"high_freq_factor", 1.0},
                      {"original_max_position_embeddings", 8192}}}}}};
  const HfRopeConfig c = from(j);
  EXPECT_EQ(c.layout, Layout::interleaved);
  EXPECT_STREQ(c.rope.policy_name(), "llama3");
  std::vector<long double> expected = default_inv_freq(500000.0L, 128);
  for (long double& w : expected)
    if (2 * 3.14159265358979323846264338327950288L / w > 8192.0L) w /= 16.0L;
  expect_inv_freq(c.rope.inv_freq(), expected, "llama-4-scout");
}

TEST(HfConfig, DynamicAndHunyuanAlpha) {
  json j = llama_like();
  j["max_position_embeddings"] = 4096;
  j["rope_theta"] = 10000.0;
  j["rope_scaling"] = {{"type", "dynamic"}, {"factor", 4.0}};
  HfRopeConfig c = from(j);
  // transformers' `_compute_dynamic_ntk_parameters` at seq_len 8192, float32.
  EXPECT_NEAR(c.rope.table_for_length(8192).inv_freq()[1], 8.441220522e-01, 1e-6);
  // Hunyuan: dynamic with alpha is vLLM's static NTK-alpha.
  j["rope_scaling"] = {{"type", "dynamic"}, {"alpha", 1000.0}, {"factor", 1.0}};
  c = from(j);
  ASSERT_NE(c.rope.policy_if<scaling::NtkAware>(), nullptr);
  const long double base = 10000.0L * std::pow(1000.0L, 128.0L / 126.0L);
  expect_inv_freq(c.rope.inv_freq(), default_inv_freq(base, 128), "alpha");
}

TEST(HfConfig, AgreeingDuplicatesAndIgnoredKeys) {
  // Re-saved GPT-NeoX configs carry both rotary_pct and partial_rotary_factor.
  json j = read_json(data("gpt-neox-20b.json"));
  j["partial_rotary_factor"] = 0.25;
  j["rope_theta"] = 10000.0;
  EXPECT_EQ(from(j).rotary_dim, 24);
  // A key no rope type reads is ignored, with a note.
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"low_freq_factor", 1.0}};
  const HfRopeConfig c = from(j);
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_NE(c.notes[0].find("rope_scaling.low_freq_factor ignored"), std::string::npos);
}

// --- errors: message names the file and the field ---------------------------

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

void expect_json_error(const json& j, const std::string& field, const std::string& fragment = "") {
  expect_error([&] { from(j); }, "config.json", field, fragment);
}

TEST(HfConfigErrors, IllTypedFieldExactMessage) {
  json j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", "4"}};
  try {
    from(j);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "ropekit: config.json: rope_scaling.factor = \"4\": must be a number");
  }
}

TEST(HfConfigErrors, IllTypedFields) {
  json j = llama_like();
  j["rope_theta"] = "1e6";
  expect_json_error(j, "rope_theta", "must be a number");
  j = llama_like();
  j["head_dim"] = 128.5;
  expect_json_error(j, "head_dim", "must be an integer");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"truncate", "false"}};
  expect_json_error(j, "rope_scaling.truncate", "true or false");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", 3}};
  expect_json_error(j, "rope_scaling.rope_type", "must be a string");
  j = llama_like();
  j["rope_scaling"] = "yarn";
  expect_json_error(j, "rope_scaling", "must be an object");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "default"}, {"mrope_section", "16,24,24"}};
  expect_json_error(j, "rope_scaling.mrope_section", "list");
  expect_json_error(json::array({1, 2}), "(root)", "JSON object");
}

TEST(HfConfigErrors, NullIsNotADefault) {
  json j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", nullptr}};
  expect_json_error(j, "rope_scaling.factor", "must be a number");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"beta_fast", nullptr}};
  expect_json_error(j, "rope_scaling.beta_fast", "must be a number");
  j = llama_like();
  j["rope_theta"] = nullptr;
  expect_json_error(j, "rope_theta", "must be a number");
  j = llama_like();
  j["original_max_position_embeddings"] = nullptr;
  expect_json_error(j, "original_max_position_embeddings", "must be an integer");
}

TEST(HfConfigErrors, MissingFields) {
  json j = read_json(data("llama-3.1-8b.json"));
  j["rope_scaling"].erase("low_freq_factor");
  expect_json_error(j, "rope_scaling.low_freq_factor", "missing");
  j = read_json(data("phi-3-mini-128k-instruct.json"));
  j["rope_scaling"].erase("long_factor");
  expect_json_error(j, "rope_scaling.long_factor", "missing");
  j = read_json(data("phi-3-mini-128k-instruct.json"));
  j.erase("original_max_position_embeddings");
  expect_json_error(j, "original_max_position_embeddings", "missing");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"}};
  expect_json_error(j, "rope_scaling.factor", "missing");
  j = llama_like();
  j.erase("max_position_embeddings");
  j["rope_scaling"] = {{"rope_type", "yarn"}};
  expect_json_error(j, "rope_scaling.original_max_position_embeddings", "missing");
  j = llama_like();
  j["rope_scaling"] = {{"factor", 4.0}};
  expect_json_error(j, "rope_scaling.rope_type", "names no rope_type");
  j = llama_like();
  j.erase("num_attention_heads");
  expect_json_error(j, "num_attention_heads", "missing");
  j = llama_like();
  j["rope_scaling"] = {{"type", "mrope"}};
  expect_json_error(j, "rope_scaling.mrope_section", "missing");
}

TEST(HfConfigErrors, UnknownOrUnsupported) {
  json j = llama_like();
  j["rope_scaling"] = {{"rope_type", "ntk"}, {"factor", 2.0}};
  expect_json_error(j, "rope_scaling.rope_type", "unknown rope type");
  j["rope_scaling"] = {{"type", "Linear"}, {"factor", 2.0}};
  expect_json_error(j, "rope_scaling.type", "unknown rope type");
  j = read_json(data("phi-3-mini-128k-instruct.json"));
  j["rope_scaling"]["long_mscale"] = 1.19;
  expect_json_error(j, "rope_scaling.long_mscale", "not supported");
  j = llama_like();
  j["rope_parameters"] = {{"full_attention", {{"rope_type", "default"}}},
                          {"sliding_attention", {{"rope_type", "default"}}}};
  expect_json_error(j, "rope_parameters", "per-layer-type");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "llama3"},
                       {"factor", 8.0},
                       {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192},
                       {"mrope_section", {16, 24, 24}}};
  expect_json_error(j, "rope_scaling.mrope_section", "default or yarn");
}

TEST(HfConfigErrors, ListsOfWrongLength) {
  json j = read_json(data("phi-3-mini-128k-instruct.json"));
  j["rope_scaling"]["long_factor"].erase(47);
  expect_json_error(j, "rope_scaling.long_factor", "has 47 entries; must have rotary_dim / 2 = 48");
  j = read_json(data("qwen2-vl-7b-instruct.json"));
  j["rope_scaling"]["mrope_section"] = {16, 24};
  expect_json_error(j, "rope_scaling.mrope_section", "must have 3");
  j["rope_scaling"]["mrope_section"] = {16, 24, 20};
  expect_json_error(j, "rope_scaling.mrope_section", "must sum to rotary_dim / 2 = 64");
  j = read_json(data("phi-3-mini-128k-instruct.json"));
  j["rope_scaling"]["short_factor"][3] = "1.3";
  expect_json_error(j, "rope_scaling.short_factor[3]", "must be a number");
}

TEST(HfConfigErrors, NonFiniteAndOutOfRange) {
  json j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"},
                       {"factor", std::numeric_limits<double>::quiet_NaN()}};
  expect_json_error(j, "rope_scaling.factor", "= nan: must be finite");
  j = llama_like();
  j["rope_theta"] = std::numeric_limits<double>::infinity();
  expect_json_error(j, "rope_theta", "must be finite");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", -2.0}};
  expect_json_error(j, "rope_scaling.factor", "must be positive");
  j = llama_like();
  j["partial_rotary_factor"] = 1.5;
  expect_json_error(j, "partial_rotary_factor", "(0, 1]");
  j = llama_like();
  j["head_dim"] = 126;
  j["partial_rotary_factor"] = 0.25;  // int(126 * 0.25) = 31: odd
  expect_json_error(j, "partial_rotary_factor", "must be even");
  j = llama_like();
  j["max_position_embeddings"] = 0;
  expect_json_error(j, "max_position_embeddings", "must be positive");
  // A policy constructor's own check, re-raised naming the field the
  // config set (with its JSON value).
  j = llama_like();
  j["rope_scaling"] = {
      {"rope_type", "yarn"}, {"factor", 4.0}, {"beta_fast", 1.0}, {"beta_slow", 32.0}};
  expect_json_error(j, "rope_scaling.beta_fast", "rope_scaling.beta_fast = 1: must not be less");
  // Frequencies out of range name the field that produced them.
  j = llama_like();
  j["rope_theta"] = 5e-324;
  expect_json_error(j, "rope_theta", "gives inv_freq[");
  // A parameter the config did not set (yarn's L0 taken from
  // max_position_embeddings) is reported against the block.
  j = llama_like();
  j["max_position_embeddings"] = 2;
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  expect_json_error(j, "rope_scaling", "original_max_position_embeddings = 2");
}

TEST(HfConfigErrors, ConflictingDuplicates) {
  json j = llama_like();
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 5e5}};
  expect_json_error(j, "rope_parameters.rope_theta", "disagrees with rope_theta");
  j = read_json(data("llama-3.1-8b.json"));
  j["original_max_position_embeddings"] = 4096;
  expect_json_error(j, "rope_scaling.original_max_position_embeddings", "disagrees");
  j = read_json(data("gpt-neox-20b.json"));
  j["partial_rotary_factor"] = 0.5;
  expect_json_error(j, "rotary_pct", "disagrees");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}};
  j["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 4.0}};
  expect_json_error(j, "rope_parameters", "give one rope block");
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/ropekit_hf_" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(HfConfigErrors, FileProblems) {
  const std::string missing = ::testing::TempDir() + "/ropekit_no_such_dir/config.json";
  expect_error([&] { load_hf_config(missing); }, missing, "", "cannot open");
  const std::string broken = write_temp("broken.json", "{\"rope_theta\": 1e4,");
  expect_error([&] { load_hf_config(broken); }, broken, "", "not valid JSON");
  const std::string empty = write_temp("empty.json", "");
  expect_error([&] { load_hf_config(empty); }, empty, "", "not valid JSON");
  const std::string huge = write_temp("huge.json", "{\"rope_theta\": 1e999}");
  expect_error([&] { load_hf_config(huge); }, huge, "", "not valid JSON");
  const std::string dir = ::testing::TempDir();
  expect_error([&] { load_hf_config(dir); }, dir, "", "directory");
  // A readable file with a bad field names the file path.
  const std::string bad = write_temp("bad.json", R"({"hidden_size": 64, "num_attention_heads": 1,
      "rope_scaling": {"rope_type": "linear", "factor": "4"}})");
  expect_error([&] { load_hf_config(bad); }, bad, "rope_scaling.factor", "\"4\": must be a number");
}

}  // namespace
