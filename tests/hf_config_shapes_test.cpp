// SPDX-License-Identifier: Apache-2.0
// Config shapes transformers writes besides the published files: v5
// rope_parameters, legacy names, fallbacks, M-RoPE variants, nested
// text_config, layout choice, NTK-alpha, duplicated keys.
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
  EXPECT_EQ(c.base(), 1e6);
  EXPECT_EQ(c.rotary_dim(), 64);
  EXPECT_EQ(c.partial_rotary_factor, 0.5);
  expect_inv_freq(c.rope.inv_freq(), yarn_inv_freq(1e6L, 64, 4, 32768, 32, 1, true), "v5");
  // Both keys, equal values: accepted.
  j["rope_theta"] = 1e6;
  j["rope_scaling"] = j["rope_parameters"];
  EXPECT_EQ(from(j).base(), 1e6);
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
  EXPECT_EQ(c.head_dim(), 128);  // head_dim null: transformers falls back to hidden / heads
  EXPECT_EQ(c.base(), 500000.0);
}

TEST(HfConfig, LayoutChoice) {
  json j = llama_like();
  EXPECT_EQ(from(j).layout(), Layout::half_split);
  for (const char* family : {"gptj", "codegen", "deepseek_v2", "deepseek_v3", "cohere", "glm"}) {
    j["model_type"] = family;
    EXPECT_EQ(from(j).layout(), Layout::interleaved) << family;
  }
  j["rope_interleave"] = false;  // the config's own flag wins
  EXPECT_EQ(from(j).layout(), Layout::half_split);
  j["model_type"] = "kimi_k2";
  j["rope_interleave"] = true;
  EXPECT_EQ(from(j).layout(), Layout::interleaved);
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
  EXPECT_EQ(c.layout(), Layout::interleaved);
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

// ChatGLM's own config (THUDM/glm-4-9b-chat before the transformers port):
// kv_channels, rope_ratio and seq_length; the first half of each head
// rotates, adjacent pairs, base 10000 * rope_ratio.
TEST(HfConfig, ChatGlmOwnKeys) {
  json j = {{"model_type", "chatglm"}, {"hidden_size", 4096},    {"num_attention_heads", 32},
            {"kv_channels", 128},      {"num_layers", 40},       {"rope_ratio", 500},
            {"seq_length", 131072},    {"original_rope", true}};
  const HfRopeConfig c = from(j);
  EXPECT_EQ(c.layout(), Layout::interleaved);
  EXPECT_EQ(c.rope.dims(), RotaryDims(128, 64));
  EXPECT_EQ(c.base(), 5e6);
  EXPECT_EQ(c.max_position_embeddings, 131072);
  // The same rotation as the transformers port of the same model.
  const HfRopeConfig port = load_hf_config(data("glm-4-9b-chat-hf.json"));
  EXPECT_EQ(c.rope.inv_freq(), port.rope.inv_freq());
  EXPECT_EQ(c.rope.dims(), port.rope.dims());
  EXPECT_EQ(c.layout(), port.layout());
  EXPECT_EQ(hf_model_rope_from_json(j, "config.json").rope.num_layers(), 40);
  j["rope_ratio"] = 0;
  expect_json_error(j, "rope_ratio", "must be positive");
}

TEST(HfConfig, AgreeingDuplicatesAndIgnoredKeys) {
  // Re-saved GPT-NeoX configs carry both rotary_pct and partial_rotary_factor.
  json j = read_json(data("gpt-neox-20b.json"));
  j["partial_rotary_factor"] = 0.25;
  j["rope_theta"] = 10000.0;
  EXPECT_EQ(from(j).rotary_dim(), 24);
  // A key no rope type reads is ignored, with a note.
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"low_freq_factor", 1.0}};
  const HfRopeConfig c = from(j);
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_NE(c.notes[0].find("rope_scaling.low_freq_factor ignored"), std::string::npos);
}

}  // namespace
