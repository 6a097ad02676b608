// SPDX-License-Identifier: Apache-2.0
// Loading the published transformers config.json files of tests/data:
// each loads; its inverse frequencies and attention factor match formulas
// written out in long double (hf_config_util.hpp) and float32 values
// computed the way transformers' `_compute_*_parameters` functions
// (modeling_rope_utils.py) compute them; and the AnyRope it builds rotates
// exactly like the compile-time Rope<P, L> with the same parameters.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <ropekit/hf_config.hpp>

#include "hf_config_util.hpp"

namespace {

using namespace hf_test;

// --- the published configs --------------------------------------------------

TEST(HfConfig, Llama2) {
  const HfRopeConfig c = load_hf_config(data("llama-2-7b.json"));
  EXPECT_EQ(c.source, data("llama-2-7b.json"));
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.rope_type, "default");
  EXPECT_EQ(c.rope_block_key, "");  // rope_scaling: null
  EXPECT_TRUE(c.scaling_parameters.is_null());
  EXPECT_EQ(c.base(), 10000.0);  // absent: LlamaConfig's default
  EXPECT_EQ(c.head_dim(), 128);
  EXPECT_EQ(c.rotary_dim(), 128);
  EXPECT_EQ(c.layout(), Layout::half_split);
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
  EXPECT_EQ(c.base(), 1e6);  // written as the integer 1000000
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
  EXPECT_EQ(c.base(), 500000.0);
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
  EXPECT_EQ(c.head_dim(), 128);
  EXPECT_EQ(c.max_position_embeddings, 32768);
  expect_inv_freq(c.rope.inv_freq(), default_inv_freq(1e4L, 128), "mistral");
  expect_rotates_like<scaling::Default, neox>(c, RotaryDims(128), scaling::Default(1e4));
}

TEST(HfConfig, Qwen25YarnFactor4) {
  const HfRopeConfig c = load_hf_config(data("qwen2.5-7b-instruct-yarn.json"));
  EXPECT_EQ(c.rope_type, "yarn");
  EXPECT_EQ(c.rope_type_as_written, "yarn");  // legacy "type" key
  EXPECT_EQ(c.head_dim(), 128);               // 3584 / 28
  EXPECT_EQ(c.base(), 1e6);
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
  EXPECT_EQ(c.head_dim(), 96);  // 3072 / 32
  EXPECT_EQ(c.rotary_dim(), 96);
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
  EXPECT_EQ(c.head_dim(), 64);  // qk_rope_head_dim, not hidden_size / heads = 128
  EXPECT_EQ(c.rotary_dim(), 64);
  EXPECT_EQ(c.layout(), Layout::interleaved);
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
  EXPECT_EQ(c.head_dim(), 96);    // 6144 / 64
  EXPECT_EQ(c.rotary_dim(), 24);  // int(96 * 0.25)
  EXPECT_EQ(c.partial_rotary_factor, 0.25);
  EXPECT_EQ(c.base(), 10000.0);  // rotary_emb_base
  EXPECT_EQ(c.layout(), Layout::half_split);
  expect_inv_freq(c.rope.inv_freq(), default_inv_freq(1e4L, 24), "neox");
  expect_rotates_like<scaling::Default, neox>(c, RotaryDims(96, 24), scaling::Default(1e4));
}

TEST(HfConfig, GptJInterleavedPartial) {
  const HfRopeConfig c = load_hf_config(data("gpt-j-6b.json"));
  EXPECT_EQ(c.head_dim(), 256);  // n_embd / n_head
  EXPECT_EQ(c.rotary_dim(), 64);
  EXPECT_EQ(c.layout(), Layout::interleaved);
  EXPECT_EQ(c.max_position_embeddings, 2048);  // n_positions
  EXPECT_EQ(c.base(), 10000.0);
  expect_inv_freq(c.rope.inv_freq(), default_inv_freq(1e4L, 64), "gpt-j");
  expect_rotates_like<scaling::Default, gptj>(c, RotaryDims(256, 64), scaling::Default(1e4));
}

TEST(HfConfig, Qwen2VlMrope) {
  const HfRopeConfig c = load_hf_config(data("qwen2-vl-7b-instruct.json"));
  EXPECT_EQ(c.rope_type, "default");  // transformers rewrites type "mrope" to default
  EXPECT_EQ(c.rope_type_as_written, "mrope");
  EXPECT_STREQ(c.rope.policy_name(), "mrope");
  EXPECT_EQ(c.base(), 1e6);
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
  EXPECT_EQ(c.head_dim(), 64);  // given; hidden_size / heads would be 45
  EXPECT_EQ(c.base(), 150000.0);
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

}  // namespace
