// SPDX-License-Identifier: Apache-2.0
// The per-layer formats a config can use, given inline: v5 rope_parameters
// keyed by layer type, Gemma 3's older keys, families whose attention skips
// RoPE in some layers, attention-free layer types, no_rope_layers; and bad
// layer data, each an HfConfigError naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <ropekit/hf_config.hpp>

#include "hf_config_util.hpp"

namespace {

using namespace hf_test;

HfModelRope model(const json& j) { return hf_model_rope_from_json(j, "config.json"); }

void expect_model_error(const json& j, const std::string& field, const std::string& fragment) {
  expect_error([&] { model(j); }, "config.json", field, fragment);
}

// Which layers apply RoPE, as 0/1.
std::vector<int> rope_mask(const HfModelRope& m) {
  std::vector<int> mask;
  for (std::int64_t i = 0; i < m.rope.num_layers(); ++i) mask.push_back(m.rope.has_rope(i));
  return mask;
}

json small(const char* model_type, std::int64_t layers) {
  return json{{"model_type", model_type},        {"hidden_size", 512},
              {"num_attention_heads", 8},        {"num_hidden_layers", layers},
              {"max_position_embeddings", 4096}, {"rope_theta", 10000.0}};
}

// transformers v5 writes Gemma 3 as rope_parameters keyed by layer type; it
// loads to the same rotations as the older rope_theta / rope_local_base_freq
// / rope_scaling keys.
TEST(HfModelRopeShapes, KeyedByLayerTypeMatchesGemma3Keys) {
  json old_format = {{"model_type", "gemma3_text"},
                     {"num_hidden_layers", 8},
                     {"rope_scaling", {{"rope_type", "linear"}, {"factor", 8.0}}}};
  json v5 = {{"model_type", "gemma3_text"},
             {"num_hidden_layers", 8},
             {"layer_types",
              {"sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention",
               "sliding_attention", "full_attention", "sliding_attention", "sliding_attention"}},
             {"rope_parameters",
              {{"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 10000.0}}},
               {"full_attention",
                {{"rope_type", "linear"}, {"factor", 8.0}, {"rope_theta", 1000000.0}}}}}};
  const HfModelRope a = model(old_format), b = model(v5);
  ASSERT_EQ(a.rope.num_layers(), 8);
  EXPECT_EQ(a.layer_types, b.layer_types);
  for (std::int64_t i = 0; i < 8; ++i) {
    EXPECT_EQ(a.rope.rope_index(i), b.rope.rope_index(i)) << i;
    EXPECT_EQ(a.rope.layer(i)->inv_freq(), b.rope.layer(i)->inv_freq()) << i;
  }
  EXPECT_EQ(b.descriptions[0].rope_block_key, "rope_parameters.sliding_attention");
  EXPECT_EQ(b.descriptions[1].layer_type, "full_attention");
  // Gemma 3's old keys given explicitly, and its pattern as layer_types.
  old_format["rope_local_base_freq"] = 20000.0;
  old_format["sliding_window_pattern"] = 4;
  const HfModelRope c = model(old_format);
  EXPECT_EQ(c.rope.layers_of(1), (std::vector<std::int64_t>{3, 7}));
  expect_inv_freq(c.rope.layer(0)->inv_freq(), default_inv_freq(20000.0L, 256), "local base");
  // A keyed block without rope_theta takes the top-level one; its own wins.
  v5["rope_theta"] = 500000.0;
  v5["rope_parameters"]["sliding_attention"].erase("rope_theta");
  const HfModelRope d = model(v5);
  EXPECT_EQ(d.rope.layer(0)->base(), 500000.0);
  EXPECT_EQ(d.rope.layer(5)->base(), 1000000.0);
  // One layer type: the single-rope loader reads it.
  v5["layer_types"] = std::vector<std::string>(8, "full_attention");
  v5["rope_parameters"].erase("sliding_attention");
  EXPECT_EQ(from(v5).rope_type, "linear");
  EXPECT_EQ(from(v5).layer_type, "full_attention");
}

// Several rotations: the single-rope loader points to the model loader.
TEST(HfModelRopeShapes, SingleLoaderRefusesSeveralRotations) {
  json j = {{"model_type", "gemma3_text"}, {"num_hidden_layers", 6}};
  expect_json_error(j, "model_type", "load_hf_model_rope");
  j["rope_local_base_freq"] = 10000.0;
  expect_json_error(j, "rope_local_base_freq", "2 rotations");
  json keyed = small("llama", 2);
  keyed["layer_types"] = {"sliding_attention", "full_attention"};
  keyed["rope_parameters"] = {{"sliding_attention", {{"rope_type", "default"}}},
                              {"full_attention", {{"rope_type", "default"}}}};
  expect_json_error(keyed, "rope_parameters", "hf_model_rope_from_json");
  EXPECT_EQ(model(keyed).rope.ropes().size(), 2u);
}

// Cohere2 (Command R7B / A) applies RoPE only in its sliding-window layers;
// EXAONE 4 too when it has a sliding window, else in every layer.
TEST(HfModelRopeShapes, SlidingOnlyRopeFamilies) {
  json j = small("cohere2", 8);
  const HfModelRope c = model(j);  // Cohere2Config: sliding_window_pattern 4
  EXPECT_EQ(rope_mask(c), (std::vector<int>{1, 1, 1, 0, 1, 1, 1, 0}));
  EXPECT_EQ(c.rope.layer(0)->layout(), Layout::interleaved);
  j["layer_types"] = {"sliding_attention", "full_attention",    "sliding_attention",
                      "full_attention",    "sliding_attention", "sliding_attention",
                      "sliding_attention", "full_attention"};
  EXPECT_EQ(rope_mask(model(j)), (std::vector<int>{1, 0, 1, 0, 1, 1, 1, 0}));
  j = small("exaone4", 4);
  EXPECT_EQ(rope_mask(model(j)), (std::vector<int>{1, 1, 1, 1}));  // no sliding window
  j["sliding_window"] = 4096;
  EXPECT_EQ(rope_mask(model(j)), (std::vector<int>{1, 1, 1, 0}));
  EXPECT_EQ(model(j).rope.layer(0)->layout(), Layout::half_split);
}

// Layers without attention (linear attention, convolution, Mamba) have no
// RoPE; no_rope_layers marks attention layers without it.
TEST(HfModelRopeShapes, AttentionFreeAndNoRopeLayers) {
  json j = small("lfm2", 4);
  j["layer_types"] = {"conv", "full_attention", "linear_attention", "mamba"};
  EXPECT_EQ(rope_mask(model(j)), (std::vector<int>{0, 1, 0, 0}));
  j = small("smollm3", 8);  // SmolLM3Config: no_rope_layer_interval 4
  EXPECT_EQ(rope_mask(model(j)), (std::vector<int>{1, 1, 1, 0, 1, 1, 1, 0}));
  j["no_rope_layer_interval"] = 3;
  EXPECT_EQ(rope_mask(model(j)), (std::vector<int>{1, 1, 0, 1, 1, 0, 1, 1}));
  j["no_rope_layers"] = {true, false, 1, 0, 1, 1, 1, 1, 0, 0};  // longer: read by index
  const HfModelRope m = model(j);
  EXPECT_EQ(rope_mask(m), (std::vector<int>{1, 0, 1, 0, 1, 1, 1, 1}));
  EXPECT_NE(m.notes.back().find("entries past the 8 layers ignored"), std::string::npos);
  j = small("llama4_text", 4);
  j["no_rope_layers"] = json::array();  // Llama4TextConfig: unset
  EXPECT_EQ(rope_mask(model(j)), (std::vector<int>{1, 1, 1, 0}));
  EXPECT_EQ(model(j).rope.layer(0)->layout(), Layout::interleaved);
  // A model type without a rule reads no_rope_layers when given.
  j = small("llama", 3);
  EXPECT_EQ(rope_mask(model(j)), (std::vector<int>{1, 1, 1}));
  j["no_rope_layers"] = {1, 0, 1};
  EXPECT_EQ(rope_mask(model(j)), (std::vector<int>{1, 0, 1}));
}

TEST(HfModelRopeErrors, LayerTypes) {
  json j = small("llama", 4);
  j["layer_types"] = {"full_attention", "full_attention", "full_attention"};
  expect_model_error(j, "layer_types", "has 3 entries; must have one per layer (4 layers)");
  j["layer_types"] = std::vector<std::string>(5, "full_attention");
  expect_model_error(j, "layer_types", "has 5 entries; must have one per layer (4 layers)");
  j["layer_types"] = {"full_attention", "global", "full_attention", "full_attention"};
  expect_model_error(j, "layer_types[1]", "unknown layer type");
  j["layer_types"] = {"full_attention", 2, "full_attention", "full_attention"};
  expect_model_error(j, "layer_types[1]", "must be a string");
  j["layer_types"] = "full_attention";
  expect_model_error(j, "layer_types", "must be a list");
  j.erase("layer_types");
  j.erase("num_hidden_layers");
  expect_model_error(j, "num_hidden_layers", "missing");
  j["num_hidden_layers"] = 0;
  expect_model_error(j, "num_hidden_layers", "must be positive");
  j["num_hidden_layers"] = std::int64_t{1} << 40;  // not a table of 2^40 layers
  expect_model_error(j, "num_hidden_layers", "must be at most 65536");
  j = small("gemma3_text", 4);
  j["sliding_window_pattern"] = 0;
  expect_model_error(j, "sliding_window_pattern", "must be positive");
  j = small("qwen3_next", 4);
  j["full_attention_interval"] = "4";
  expect_model_error(j, "full_attention_interval", "must be an integer");
}

TEST(HfModelRopeErrors, KeyedBlocks) {
  json j = small("llama", 2);
  j["rope_parameters"] = {{"sliding_attention", {{"rope_type", "default"}}},
                          {"full_attention", {{"rope_type", "linear"}, {"factor", "4"}}}};
  expect_model_error(j, "layer_types", "missing");
  j["layer_types"] = {"sliding_attention", "full_attention"};
  expect_model_error(j, "rope_parameters.full_attention.factor", "\"4\": must be a number");
  j["layer_types"] = {"sliding_attention", "chunked_attention"};
  expect_model_error(j, "layer_types[1]", "has no block in rope_parameters");
  j["layer_types"] = {"sliding_attention", "full_attention"};
  j["rope_parameters"]["full_attention"] = nullptr;
  expect_model_error(j, "rope_parameters.full_attention", "must be an object");
  j["rope_parameters"]["full_attention"] = {{"rope_type", "default"}};
  j["rope_parameters"]["rope_theta"] = 1e6;
  expect_model_error(j, "rope_parameters.rope_theta", "also holds per-layer-type blocks");
  // A block for a layer type no layer has is ignored, with a note.
  j["rope_parameters"].erase("rope_theta");
  j["rope_parameters"]["chunked_attention"] = {{"rope_type", "default"}};
  EXPECT_NE(model(j).notes.back().find("rope_parameters.chunked_attention ignored"),
            std::string::npos);
  // Gemma 4's global_head_dim names itself when bad.
  j["global_head_dim"] = -512;
  expect_model_error(j, "global_head_dim", "must be positive");
}

// transformers' "proportional" in a flat block: the whole head rotates,
// pairs past int(partial_rotary_factor * head_dim // 2) with frequency 0.
TEST(HfModelRopeShapes, ProportionalFlatBlock) {
  json j = small("llama", 2);  // head_dim 64
  j["rope_theta"] = 1e6;
  j["rope_parameters"] = {{"rope_type", "proportional"}, {"partial_rotary_factor", 0.3}};
  const HfRopeConfig c = hf_config_from_json(j, "config.json");
  EXPECT_EQ(c.rope.dims(), RotaryDims(64));
  EXPECT_EQ(c.rope.layout(), Layout::half_split);
  const std::vector<double> w = c.rope.inv_freq();
  ASSERT_EQ(w.size(), 32u);
  // int(0.3 * 64 // 2) = 9 rotated pairs, exponent over all 64 channels.
  for (std::size_t i = 0; i < w.size(); ++i)
    EXPECT_EQ(w[i] != 0.0, i < 9) << i;
  EXPECT_NEAR(w[8], std::pow(1e6, -16.0 / 64.0), 1e-15);
  // Without partial_rotary_factor every pair rotates: default frequencies.
  j["rope_parameters"].erase("partial_rotary_factor");
  j["rope_parameters"]["factor"] = 4.0;
  const HfRopeConfig all = hf_config_from_json(j, "config.json");
  for (std::size_t i = 0; i < 32; ++i)
    EXPECT_NEAR(all.rope.inv_freq()[i], std::pow(1e6, -2.0 * static_cast<double>(i) / 64) / 4,
                1e-15 * all.rope.inv_freq()[i])
        << i;
}

TEST(HfModelRopeErrors, Proportional) {
  json j = small("gemma4_text", 2);
  j["layer_types"] = {"sliding_attention", "full_attention"};
  j["rope_parameters"] = {
      {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 10000.0}}},
      {"full_attention",
       {{"rope_type", "proportional"}, {"rope_theta", 1e6}, {"partial_rotary_factor", 0.25}}}};
  ASSERT_EQ(model(j).rope.layer(1)->dims(), RotaryDims(512));  // Gemma4TextConfig's default
  json& full = j["rope_parameters"]["full_attention"];
  for (const double bad : {0.0, -0.25, 1.5}) {
    full["partial_rotary_factor"] = bad;
    expect_model_error(j, "rope_parameters.full_attention.partial_rotary_factor", "(0, 1]");
  }
  full["partial_rotary_factor"] = 0.25;
  full["factor"] = -2.0;
  expect_model_error(j, "rope_parameters.full_attention.factor", "-2");
  // Accepted as a number, rejected by the policy: frequencies out of range.
  full["factor"] = 1e-300;
  expect_model_error(j, "rope_parameters.full_attention.factor", "1e-300");
  full.erase("factor");
  full["mrope_section"] = {64, 96, 96};  // sums to the 256 pairs
  expect_model_error(j, "rope_parameters.full_attention.mrope_section", "not proportional");
}

TEST(HfModelRopeErrors, NoRopeLayers) {
  json j = small("smollm3", 4);
  j["no_rope_layers"] = {1, 1, 2, 0};
  expect_model_error(j, "no_rope_layers[2]", "must be 0 (no RoPE) or 1 (RoPE)");
  j["no_rope_layers"] = {1, 1, 0.5, 0};
  expect_model_error(j, "no_rope_layers[2]", "must be 0 (no RoPE) or 1 (RoPE)");
  j["no_rope_layers"] = {1, "1", 1, 0};
  expect_model_error(j, "no_rope_layers[1]", "must be 0 (no RoPE) or 1 (RoPE)");
  j["no_rope_layers"] = {1, 1};
  expect_model_error(j, "no_rope_layers", "has 2 entries; must have one per layer (4 layers)");
  j["no_rope_layers"] = json::array();  // SmolLM3Config keeps an empty list
  expect_model_error(j, "no_rope_layers", "has 0 entries");
  j["no_rope_layers"] = "1110";
  expect_model_error(j, "no_rope_layers", "must be a list");
  j.erase("no_rope_layers");
  j["no_rope_layer_interval"] = 0;
  expect_model_error(j, "no_rope_layer_interval", "must be positive");
}

}  // namespace
