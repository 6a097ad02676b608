// SPDX-License-Identifier: Apache-2.0
// Loading a model's RoPE layer by layer from the published configs of
// tests/data: for every layer, whether it applies RoPE and the inverse
// frequencies, widths and layout it uses, against values computed here from
// the same file with formulas written out in long double (the family rules
// restated from transformers' config classes, not the library's code).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <ropekit/hf_config.hpp>

#include "hf_config_util.hpp"

namespace {

using namespace hf_test;

// What one layer applies: nothing, or this rotation.
struct LayerRope {
  bool rope = false;
  std::int64_t head_dim = 0;
  std::int64_t rotary_dim = 0;
  Layout layout = Layout::half_split;
  std::vector<long double> inv_freq;
  std::string rope_type;
};

LayerRope no_rope() { return {}; }

LayerRope rotation(std::int64_t head_dim, std::int64_t rotary_dim, Layout layout,
                   std::vector<long double> inv_freq, std::string rope_type) {
  return {true, head_dim, rotary_dim, layout, std::move(inv_freq), std::move(rope_type)};
}

std::vector<long double> divided(std::vector<long double> w, long double factor) {
  for (long double& x : w) x /= factor;
  return w;
}

// Checks every layer of `m` against `expected`, that layers of one type
// share one rotation object, and that the single-rope loader returns that
// rotation (or points to the model loader when there are several).
void expect_layers(const std::string& file, const std::vector<LayerRope>& expected) {
  const HfModelRope m = load_hf_model_rope(data(file));
  EXPECT_EQ(m.source, data(file));
  ASSERT_EQ(m.rope.num_layers(), static_cast<std::int64_t>(expected.size())) << file;
  ASSERT_EQ(m.layer_types.size(), expected.size()) << file;
  ASSERT_EQ(m.descriptions.size(), m.rope.ropes().size()) << file;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto layer = static_cast<std::int64_t>(i);
    const std::string what = file + " layer " + std::to_string(i);
    const LayerRope& e = expected[i];
    ASSERT_EQ(m.rope.has_rope(layer), e.rope) << what;
    if (!e.rope) continue;
    const AnyRope& r = *m.rope.layer(layer);
    EXPECT_EQ(r.dims().head_dim(), e.head_dim) << what;
    EXPECT_EQ(r.dims().rotary_dim(), e.rotary_dim) << what;
    EXPECT_EQ(r.layout(), e.layout) << what;
    EXPECT_EQ(r.attention_factor(), 1.0) << what;
    expect_inv_freq(r.inv_freq(), e.inv_freq, what);
    const auto k = static_cast<std::size_t>(m.rope.rope_index(layer));
    EXPECT_EQ(m.descriptions[k].rope_type, e.rope_type) << what;
    for (std::size_t j = 0; j < i; ++j) {
      if (m.rope.has_rope(static_cast<std::int64_t>(j)) && m.layer_types[j] == m.layer_types[i]) {
        EXPECT_EQ(m.rope.layer(static_cast<std::int64_t>(j)), &r) << what << " shares with " << j;
      }
    }
  }
  if (m.rope.ropes().size() == 1) {
    const HfRopeConfig single = load_hf_config(data(file));
    EXPECT_EQ(single.rope.inv_freq(), m.rope.ropes()[0].inv_freq()) << file;
    EXPECT_EQ(single.rope.dims(), m.rope.ropes()[0].dims()) << file;
    EXPECT_EQ(single.layout(), m.rope.ropes()[0].layout()) << file;
  } else {
    expect_error([&] { load_hf_config(data(file)); }, data(file),
                 m.descriptions[0].rope_block_key.empty() ? "text_config.model_type"
                                                          : "text_config.rope_parameters",
                 "load_hf_model_rope");
  }
}

// Gemma 3 (before transformers v5): local layers default RoPE of
// rope_local_base_freq, global ones (every 6th, Gemma3TextConfig's
// sliding_window_pattern default) rope_theta with rope_scaling. The file
// gives neither base nor head_dim: the class defaults 1e6, 1e4 and 256.
TEST(HfModelRope, Gemma3LocalAndGlobal) {
  const json text = read_json(data("gemma-3-4b-it.json")).at("text_config");
  const auto n = text.at("num_hidden_layers").get<std::int64_t>();
  const auto factor = text.at("rope_scaling").at("factor").get<long double>();
  ASSERT_EQ(text.at("rope_scaling").at("rope_type"), "linear");
  std::vector<LayerRope> expected;
  for (std::int64_t i = 0; i < n; ++i)
    expected.push_back(
        (i + 1) % 6 == 0
            ? rotation(256, 256, neox, divided(default_inv_freq(1e6L, 256), factor), "linear")
            : rotation(256, 256, neox, default_inv_freq(1e4L, 256), "default"));
  expect_layers("gemma-3-4b-it.json", expected);

  const HfModelRope m = load_hf_model_rope(data("gemma-3-4b-it.json"));
  EXPECT_EQ(m.model_type, "gemma3");
  ASSERT_EQ(m.rope.ropes().size(), 2u);
  EXPECT_EQ(m.descriptions[0].layer_type, "sliding_attention");
  EXPECT_EQ(m.descriptions[0].rope_block_key, "");
  EXPECT_EQ(m.descriptions[1].layer_type, "full_attention");
  EXPECT_EQ(m.descriptions[1].rope_block_key, "text_config.rope_scaling");
  EXPECT_EQ(m.descriptions[1].max_position_embeddings, 131072);
  EXPECT_EQ(m.layer_types[5], "full_attention");
  EXPECT_EQ(m.layer_types[4], "sliding_attention");
  EXPECT_EQ(m.rope.layers_of(1), (std::vector<std::int64_t>{5, 11, 17, 23, 29}));
}

// Gemma 4: sliding layers default RoPE over head_dim, full-attention layers
// transformers' "proportional" RoPE over global_head_dim: the first
// int(partial_rotary_factor * global_head_dim // 2) pairs get theta^(-2j /
// global_head_dim), the rest 0, all divided by factor (default 1); the
// rotation spans the whole 512-channel head.
std::vector<long double> proportional_inv_freq(long double theta, std::int64_t d, double partial,
                                               long double factor) {
  const auto rotated = static_cast<std::size_t>(std::floor(partial * static_cast<double>(d) / 2));
  std::vector<long double> w(static_cast<std::size_t>(d / 2), 0.0L);
  for (std::size_t j = 0; j < rotated; ++j)
    w[j] = std::pow(theta, -2.0L * static_cast<long double>(j) / static_cast<long double>(d)) /
           factor;
  return w;
}

TEST(HfModelRope, Gemma4SlidingDefaultFullProportional) {
  const std::string file = "gemma-4-31b-it.json";
  const json text = read_json(data(file)).at("text_config");
  const auto head = text.at("head_dim").get<std::int64_t>();
  const auto global = text.at("global_head_dim").get<std::int64_t>();
  const json& full = text.at("rope_parameters").at("full_attention");
  const json& sliding = text.at("rope_parameters").at("sliding_attention");
  ASSERT_EQ(full.at("rope_type"), "proportional");
  ASSERT_FALSE(full.contains("factor"));  // transformers' default 1
  const auto w_full = proportional_inv_freq(full.at("rope_theta").get<long double>(), global,
                                            full.at("partial_rotary_factor").get<double>(), 1.0L);
  ASSERT_EQ(std::count(w_full.begin(), w_full.end(), 0.0L), 192);  // 64 of 256 pairs rotate
  const auto w_sliding = default_inv_freq(sliding.at("rope_theta").get<long double>(), head);
  std::vector<LayerRope> expected;
  for (const auto& type : text.at("layer_types"))
    expected.push_back(type == "full_attention"
                           ? rotation(global, global, neox, w_full, "proportional")
                           : rotation(head, head, neox, w_sliding, "default"));
  ASSERT_EQ(expected.size(), text.at("num_hidden_layers").get<std::size_t>());
  expect_layers(file, expected);

  const HfModelRope m = load_hf_model_rope(data(file));
  EXPECT_EQ(m.descriptions[1].rope_block_key, "text_config.rope_parameters.full_attention");
  EXPECT_EQ(m.descriptions[1].partial_rotary_factor, 0.25);
  const auto* p = m.rope.ropes()[1].policy_if<scaling::Proportional>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->rotated_pairs(m.rope.ropes()[1].dims()), 64);
  EXPECT_EQ(m.rope.layers_of(1).size(), expected.size() / 6);

  // A factor divides every frequency.
  json raw = read_json(data(file));
  raw["text_config"]["rope_parameters"]["full_attention"]["factor"] = 8.0;
  const HfModelRope scaled = hf_model_rope_from_json(raw, "gemma-4.json");
  expect_inv_freq(scaled.rope.ropes()[1].inv_freq(),
                  proportional_inv_freq(full.at("rope_theta").get<long double>(), global,
                                        full.at("partial_rotary_factor").get<double>(), 8.0L),
                  "factor 8");
}

// Llama 4: interleaved pairs, llama3 scaling with low == high (a hard step
// at original_max_position_embeddings), no RoPE where no_rope_layers is 0.
TEST(HfModelRope, Llama4ScoutNoRopeLayers) {
  const json text = read_json(data("llama-4-scout-17b-16e-instruct.json")).at("text_config");
  const auto& scaling = text.at("rope_scaling");
  const auto base = text.at("rope_theta").get<long double>();
  const auto head = text.at("head_dim").get<std::int64_t>();
  const auto factor = scaling.at("factor").get<long double>();
  const auto l0 = scaling.at("original_max_position_embeddings").get<long double>();
  ASSERT_EQ(scaling.at("low_freq_factor"), scaling.at("high_freq_factor"));
  std::vector<long double> w = default_inv_freq(base, head);
  for (long double& x : w)
    if (2 * kPi / x > l0) x /= factor;
  std::vector<LayerRope> expected;
  for (const auto& use : text.at("no_rope_layers"))
    expected.push_back(use == 1 ? rotation(head, head, gptj, w, "llama3") : no_rope());
  ASSERT_EQ(expected.size(), text.at("num_hidden_layers").get<std::size_t>());
  expect_layers("llama-4-scout-17b-16e-instruct.json", expected);
  const HfModelRope m = load_hf_model_rope(data("llama-4-scout-17b-16e-instruct.json"));
  EXPECT_EQ(m.layer_types[3], "full_attention");     // Llama4TextConfig: NoPE layers
  EXPECT_EQ(m.layer_types[0], "chunked_attention");  // RoPE layers attend in chunks
}

TEST(HfModelRope, SmolLM3NoRopeLayers) {
  const json raw = read_json(data("smollm3-3b.json"));
  const auto head =
      raw.at("hidden_size").get<std::int64_t>() / raw.at("num_attention_heads").get<std::int64_t>();
  const auto w = default_inv_freq(raw.at("rope_theta").get<long double>(), head);
  std::vector<LayerRope> expected;
  for (const auto& use : raw.at("no_rope_layers"))
    expected.push_back(use == 1 ? rotation(head, head, neox, w, "default") : no_rope());
  expect_layers("smollm3-3b.json", expected);
}

// Default RoPE of rope_theta in every layer, over int(head_dim *
// partial_rotary_factor) channels (all when the file gives no factor).
void expect_default_rope_every_layer(const std::string& file, Layout layout) {
  const json raw = read_json(data(file));
  const auto head = raw.at("head_dim").get<std::int64_t>();
  const auto rotary = static_cast<std::int64_t>(static_cast<double>(head) *
                                                raw.value("partial_rotary_factor", 1.0));
  const auto w = default_inv_freq(raw.at("rope_theta").get<long double>(), rotary);
  expect_layers(file, std::vector<LayerRope>(raw.at("num_hidden_layers").get<std::size_t>(),
                                             rotation(head, rotary, layout, w, "default")));
}

TEST(HfModelRope, Qwen3EveryLayer) { expect_default_rope_every_layer("qwen3-8b.json", neox); }

// Qwen3-Next: every full_attention_interval-th layer attends (partial
// rotary, half-split); the others are linear attention without RoPE.
TEST(HfModelRope, Qwen3NextHybrid) {
  const json raw = read_json(data("qwen3-next-80b-a3b-instruct.json"));
  const auto head = raw.at("head_dim").get<std::int64_t>();
  const auto rotary = static_cast<std::int64_t>(static_cast<double>(head) *
                                                raw.at("partial_rotary_factor").get<double>());
  const auto interval = raw.at("full_attention_interval").get<std::int64_t>();
  const auto w = default_inv_freq(raw.at("rope_theta").get<long double>(), rotary);
  std::vector<LayerRope> expected;
  for (std::int64_t i = 0; i < raw.at("num_hidden_layers").get<std::int64_t>(); ++i)
    expected.push_back((i + 1) % interval == 0 ? rotation(head, rotary, neox, w, "default")
                                               : no_rope());
  expect_layers("qwen3-next-80b-a3b-instruct.json", expected);
  EXPECT_EQ(load_hf_model_rope(data("qwen3-next-80b-a3b-instruct.json")).layer_types[0],
            "linear_attention");
}

// GLM-4 (model_type glm): adjacent pairs over the first half of the head;
// GLM-4.5 (glm4_moe): halves (rotate_half) over the first half of the head.
TEST(HfModelRope, Glm4InterleavedAndGlm45HalfSplitOverHalfTheHead) {
  for (const char* file : {"glm-4-9b-chat-hf.json", "glm-4.5.json"})
    EXPECT_EQ(read_json(data(file)).at("partial_rotary_factor"), 0.5) << file;
  expect_default_rope_every_layer("glm-4-9b-chat-hf.json", gptj);
  expect_default_rope_every_layer("glm-4.5.json", neox);
}

// Hunyuan: "dynamic" with alpha is static, base * alpha^(d/(d-2)).
TEST(HfModelRope, HunyuanDynamicAlpha) {
  const json raw = read_json(data("hunyuan-7b-instruct.json"));
  const auto head = raw.at("head_dim").get<std::int64_t>();
  const auto alpha = raw.at("rope_scaling").at("alpha").get<long double>();
  const long double base = raw.at("rope_theta").get<long double>() *
                           std::pow(alpha, static_cast<long double>(head) / (head - 2));
  expect_layers(
      "hunyuan-7b-instruct.json",
      std::vector<LayerRope>(raw.at("num_hidden_layers").get<std::size_t>(),
                             rotation(head, head, neox, default_inv_freq(base, head), "dynamic")));
  const HfRopeConfig c = load_hf_config(data("hunyuan-7b-instruct.json"));
  ASSERT_NE(c.rope.policy_if<scaling::NtkAware>(), nullptr);
  EXPECT_FALSE(c.rope.length_dependent());
  EXPECT_EQ(c.rope.factor(), 1000.0);
}

// ERNIE 4.5: adjacent pairs over the whole head ("glm rope style").
TEST(HfModelRope, Ernie45Interleaved) {
  expect_default_rope_every_layer("ernie-4.5-0.3b-pt.json", gptj);
}

// Every earlier config is one rotation on every layer, the one
// load_hf_config returns.
TEST(HfModelRope, SingleRopeConfigsEveryLayer) {
  for (const char* file :
       {"llama-2-7b.json", "codellama-7b.json", "llama-3.1-8b.json", "mistral-7b-v0.1.json",
        "qwen2.5-7b-instruct-yarn.json", "phi-3-mini-128k-instruct.json", "deepseek-v2-lite.json",
        "gpt-neox-20b.json", "gpt-j-6b.json", "qwen2-vl-7b-instruct.json", "gpt-oss-20b.json"}) {
    const HfModelRope m = load_hf_model_rope(data(file));
    const HfRopeConfig c = load_hf_config(data(file));
    const json raw = read_json(data(file));
    const json& layers =
        raw.contains("num_hidden_layers") ? raw.at("num_hidden_layers") : raw.at("n_layer");
    ASSERT_EQ(m.rope.num_layers(), layers.get<std::int64_t>()) << file;
    ASSERT_EQ(m.rope.ropes().size(), 1u) << file;
    EXPECT_EQ(m.rope.layers_of(0).size(), layers.get<std::size_t>()) << file;
    EXPECT_EQ(m.rope.ropes()[0].inv_freq(), c.rope.inv_freq()) << file;
    EXPECT_EQ(m.rope.ropes()[0].attention_factor(), c.rope.attention_factor()) << file;
    EXPECT_STREQ(m.rope.ropes()[0].policy_name(), c.rope.policy_name()) << file;
    EXPECT_EQ(m.descriptions[0].rope_type, c.rope_type) << file;
    EXPECT_EQ(m.descriptions[0].layer_type, "") << file;
  }
}

}  // namespace
