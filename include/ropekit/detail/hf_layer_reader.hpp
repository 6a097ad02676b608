// SPDX-License-Identifier: Apache-2.0
// Reads a model's RoPE layer by layer: each layer's type, whether it applies
// RoPE, and which rope block (and head width) it reads; then one AnyRope per
// distinct block, shared by the layers that read it. What transformers
// does, family by family, is cited where it is used.
#ifndef ROPEKIT_DETAIL_HF_LAYER_READER_HPP
#define ROPEKIT_DETAIL_HF_LAYER_READER_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../any_rope.hpp"
#include "../version.hpp"
#include "hf_load.hpp"
#include "hf_reader.hpp"
#include "hf_rope_reader.hpp"

#include "macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// Layer types (transformers' configuration_utils ALLOWED_LAYER_TYPES) whose
// layers attend with RoPE unless a family rule or no_rope_layers says
// otherwise, and those whose layers have no attention and so no RoPE: the
// linear-attention layers of Qwen3-Next (Gated DeltaNet) and MiniMax
// (lightning attention), LFM2's convolution layers, Mamba layers.
inline constexpr const char* hf_attention_layer_types =
    "full_attention sliding_attention chunked_attention";
inline constexpr const char* hf_attention_free_layer_types = "linear_attention conv mamba";

// One distinct rotation: the block its layers read.
struct HfRopeSpec {
  std::string layer_type;          // the layer type it serves ("" for every type)
  const hf_json* block = nullptr;  // nullptr: no block (default frequencies)
  std::string key;                 // the block's JSON path, or ""
  bool keyed = false;              // one layer type's block of a keyed rope_parameters
  const char* base_key = "rope_theta";
  const char* head_dim_key = nullptr;
};

// What the model-level reader found.
struct HfModelRead {
  HfModel model;
  std::vector<std::string> layer_types;  // one per layer
  std::vector<std::int64_t> layer_rope;  // one per layer: index into ropes, or -1
  std::vector<HfLoad> loads;             // one per distinct rope: how it was read
  std::vector<AnyRope> ropes;
  std::vector<std::string> rope_layer_types;  // one per distinct rope: HfRopeSpec::layer_type
  std::vector<std::string> notes;
  std::string split_field;  // the field that makes the model use several ropes
};

// rope_parameters keyed by layer type ({"full_attention": {...}, ...}):
// every value an object (or null, an error below); a block mixing both forms
// is an error.
inline bool hf_keyed(const HfReader& r, const HfBlock& b) {
  if (b.block == nullptr || b.block->empty()) return false;
  std::size_t objects = 0, others = 0;
  const hf_json* other = nullptr;
  std::string other_key;
  for (const auto& item : b.block->items()) {
    if (item.value().is_object()) {
      ++objects;
    } else if (!item.value().is_null()) {
      ++others;
      other = &item.value();
      other_key = item.key();
    }
  }
  if (objects == 0) return false;
  if (others != 0)
    r.fail(b.field(other_key.c_str()), other,
           "is a rope key in a block that also holds per-layer-type blocks; a rope block is "
           "either one rope's keys or one object per layer type");
  return true;
}

// The number of layers: num_hidden_layers (n_layer for GPT-2 style names,
// num_layers for ChatGLM), else the length of layer_types.
inline std::int64_t hf_layer_count(const HfReader& r, const HfModel& m) {
  // Far above any model (the deepest have about a hundred layers), and low
  // enough that the per-layer tables cost nothing.
  constexpr std::int64_t kMaxLayers = 65536;
  for (const char* key : {"num_hidden_layers", "n_layer", "num_layers"}) {
    if (const hf_json* v = m.find_non_null(key)) {
      const std::int64_t n = r.positive_integer(*v, m.top(key));
      if (n > kMaxLayers)
        r.fail(m.top(key), v, "must be at most " + std::to_string(kMaxLayers));
      return n;
    }
  }
  if (const hf_json* types = m.find_non_null("layer_types"))
    if (types->is_array() && !types->empty()) return static_cast<std::int64_t>(types->size());
  r.missing(m.top("num_hidden_layers"), "needed for the per-layer RoPE");
}

// A positive integer field (with its class default already filled in).
inline std::int64_t hf_pattern(const HfReader& r, const HfModel& m, const char* key,
                               const std::string& why) {
  const hf_json* v = m.find(key);
  if (v == nullptr) r.missing(m.top(key), why);
  return r.positive_integer(*v, m.top(key));
}

// Each layer's type: layer_types as given, else as the family's config class
// derives it.
inline std::vector<std::string> hf_layer_types(const HfReader& r, HfModelRead& out, std::int64_t n,
                                               bool needed) {
  const HfModel& m = out.model;
  const std::string& family = m.text_model_type;
  std::vector<std::string> types;
  if (const hf_json* given = m.find_non_null("layer_types")) {
    const std::string field = m.top("layer_types");
    if (!given->is_array()) r.fail(field, given, "must be a list of layer type names");
    if (static_cast<std::int64_t>(given->size()) != n)
      r.fail(field, given,
             "has " + std::to_string(given->size()) + " entries; must have one per layer (" +
                 std::to_string(n) + " layers)");
    for (std::size_t i = 0; i < given->size(); ++i) {
      const std::string item = field + "[" + std::to_string(i) + "]";
      const std::string type = r.string((*given)[i], item);
      if (!hf_word_in(hf_attention_layer_types, type) &&
          !hf_word_in(hf_attention_free_layer_types, type))
        r.fail(item, &(*given)[i],
               std::string("unknown layer type (known: ") + hf_attention_layer_types + " " +
                   hf_attention_free_layer_types + ")");
      types.push_back(type);
    }
    return types;
  }
  types.assign(static_cast<std::size_t>(n), "full_attention");
  // Every k-th layer (1-based) is of type `every`, the others `rest`.
  auto pattern = [&](std::int64_t k, const char* every, const char* rest, const char* key) {
    for (std::int64_t i = 0; i < n; ++i)
      types[static_cast<std::size_t>(i)] = (i + 1) % k == 0 ? every : rest;
    out.notes.push_back(m.top("layer_types") + " absent: layer i is " + every + " iff (i + 1) % " +
                        key + " == 0 (" + key + " = " + std::to_string(k) + "), else " + rest +
                        ", as the transformers config class derives it");
  };
  if (family == "gemma3_text") {
    // Gemma3TextConfig: the BC sliding_window_pattern (default 6).
    pattern(hf_pattern(r, m, "sliding_window_pattern", "gives layer_types"), "full_attention",
            "sliding_attention", "sliding_window_pattern");
  } else if (family == "gemma4_text") {
    // Gemma4TextConfig.__post_init__: a fixed pattern of 6, and the last
    // layer forced to full attention.
    for (std::int64_t i = 0; i < n; ++i)
      types[static_cast<std::size_t>(i)] =
          (i + 1) % 6 == 0 ? "full_attention" : "sliding_attention";
    types.back() = "full_attention";
    out.notes.push_back(m.top("layer_types") +
                        " absent: every 6th layer and the last are full_attention, the others "
                        "sliding_attention (Gemma4TextConfig)");
  } else if (family == "cohere2" ||
             (family == "exaone4" && m.find_non_null("sliding_window") != nullptr)) {
    pattern(hf_pattern(r, m, "sliding_window_pattern", "gives layer_types"), "full_attention",
            "sliding_attention", "sliding_window_pattern");
  } else if (family == "qwen3_next") {
    pattern(hf_pattern(r, m, "full_attention_interval", "gives layer_types"), "full_attention",
            "linear_attention", "full_attention_interval");
  } else if (needed) {
    r.missing(m.top("layer_types"), "rope_parameters holds one block per layer type");
  }
  return types;
}

// Which layers apply RoPE.
inline std::vector<bool> hf_rope_layers(const HfReader& r, HfModelRead& out) {
  const HfModel& m = out.model;
  const std::string& family = m.text_model_type;
  const auto n = static_cast<std::int64_t>(out.layer_types.size());
  std::vector<bool> rope(static_cast<std::size_t>(n), true);
  for (std::size_t i = 0; i < rope.size(); ++i)
    if (hf_word_in(hf_attention_free_layer_types, out.layer_types[i])) rope[i] = false;

  // Cohere2Attention applies RoPE only in sliding-window layers; so does
  // Exaone4Attention whenever the config has a sliding window ("global NoPE
  // for hybrid attention").
  if (family == "cohere2" ||
      (family == "exaone4" && m.find_non_null("sliding_window") != nullptr)) {
    for (std::size_t i = 0; i < rope.size(); ++i)
      if (out.layer_types[i] != "sliding_attention") rope[i] = false;
    out.notes.push_back("model_type " + family +
                        ": only sliding_attention layers apply RoPE (its attention skips "
                        "apply_rotary_pos_emb in the others)");
  }

  // no_rope_layers (Llama 4, SmolLM3): 1 = RoPE, 0 = none, read at
  // [layer_idx] (a longer list is allowed). Absent, both config classes
  // derive it from no_rope_layer_interval: layer i has no RoPE iff
  // (i + 1) % interval == 0; Llama4TextConfig also for an empty list.
  const bool derives = family == "llama4_text" || family == "smollm3";
  const hf_json* given = m.find_non_null("no_rope_layers");
  const std::string field = m.top("no_rope_layers");
  if (given != nullptr && !given->is_array())
    r.fail(field, given, "must be a list with one 0 or 1 per layer (1 = RoPE)");
  if (given != nullptr && given->empty() && family == "llama4_text") given = nullptr;
  if (given != nullptr) {
    if (static_cast<std::int64_t>(given->size()) < n)
      r.fail(field, given,
             "has " + std::to_string(given->size()) + " entries; must have one per layer (" +
                 std::to_string(n) + " layers)");
    for (std::int64_t i = 0; i < n; ++i) {
      const hf_json& v = (*given)[static_cast<std::size_t>(i)];
      const bool one = v.is_boolean() ? v.get<bool>() : (v.is_number_integer() && v == 1);
      const bool zero = v.is_boolean() ? !v.get<bool>() : (v.is_number_integer() && v == 0);
      if (!one && !zero)
        r.fail(field + "[" + std::to_string(i) + "]", &v, "must be 0 (no RoPE) or 1 (RoPE)");
      if (zero) rope[static_cast<std::size_t>(i)] = false;
    }
    if (static_cast<std::int64_t>(given->size()) > n)
      out.notes.push_back(field + ": entries past the " + std::to_string(n) +
                          " layers ignored, as transformers reads it by layer index");
  } else if (derives) {
    const std::int64_t k = hf_pattern(r, m, "no_rope_layer_interval", "gives no_rope_layers");
    for (std::int64_t i = 0; i < n; ++i)
      if ((i + 1) % k == 0) rope[static_cast<std::size_t>(i)] = false;
    out.notes.push_back(field +
                        " absent: layer i has no RoPE iff (i + 1) % no_rope_layer_interval "
                        "== 0 (no_rope_layer_interval = " +
                        std::to_string(k) + ")");
  }
  // Llama4TextConfig names RoPE layers chunked_attention, the others
  // full_attention, when layer_types is absent.
  if (family == "llama4_text" && m.find_non_null("layer_types") == nullptr)
    for (std::size_t i = 0; i < rope.size(); ++i)
      out.layer_types[i] = rope[i] ? "chunked_attention" : "full_attention";
  return rope;
}

// The distinct rotations and which one each RoPE layer reads.
inline std::vector<HfRopeSpec> hf_rope_specs(const HfReader& r, HfModelRead& out,
                                             const HfBlock& flat, bool keyed,
                                             const std::vector<bool>& rope,
                                             std::vector<std::size_t>& spec_of_layer) {
  const HfModel& m = out.model;
  const bool given_types = m.find_non_null("layer_types") != nullptr;
  const bool global_width = m.find_non_null("global_head_dim") != nullptr;
  // Gemma 3's format before transformers v5: rope_theta (+ rope_scaling)
  // for global layers, default frequencies of rope_local_base_freq for
  // local ones (Gemma3Model's rotary_emb and rotary_emb_local).
  const bool gemma3 =
      !keyed && (m.text_model_type == "gemma3_text" || m.find("rope_local_base_freq") != nullptr);
  std::vector<HfRopeSpec> specs;
  auto spec_for = [&](std::size_t layer) -> std::size_t {
    const std::string& type = out.layer_types[layer];
    HfRopeSpec spec;
    if (keyed) {
      const hf_json* block = HfReader::find(flat.block, type.c_str());
      if (block == nullptr) {
        const std::string what = "has no block in " + flat.key + " (layer " +
                                 std::to_string(layer) + " is " + type + ")";
        if (given_types)
          r.fail(m.top("layer_types") + "[" + std::to_string(layer) + "]",
                 &(*m.find("layer_types"))[layer], what);
        r.fail(flat.key, flat.block,
               "has no block for layer type " + type + " (layer " + std::to_string(layer) + ")");
      }
      spec = {type, block, flat.field(type.c_str()), true};
      if (!block->is_object()) r.fail(spec.key, block, "must be an object (the " + type + " rope)");
    } else if (gemma3) {
      if (type == "sliding_attention")
        spec = {type, nullptr, "", false, "rope_local_base_freq"};
      else
        spec = {type, flat.block, flat.key, false};
    } else {
      spec = {"", flat.block, flat.key, false};
    }
    // Gemma 4: full-attention layers are global_head_dim wide
    // (Gemma4TextAttention) and so is their rotation.
    if (global_width && type == "full_attention") {
      spec.head_dim_key = "global_head_dim";
      spec.layer_type = type;
    }
    for (std::size_t k = 0; k < specs.size(); ++k)
      if (specs[k].layer_type == spec.layer_type && specs[k].key == spec.key &&
          (specs[k].head_dim_key != nullptr) == (spec.head_dim_key != nullptr))
        return k;
    specs.push_back(spec);
    return specs.size() - 1;
  };
  spec_of_layer.assign(rope.size(), 0);
  for (std::size_t i = 0; i < rope.size(); ++i)
    if (rope[i]) spec_of_layer[i] = spec_for(i);

  if (keyed) {
    for (const auto& item : flat.block->items()) {
      bool used = false;
      for (const HfRopeSpec& spec : specs) used |= spec.layer_type == item.key();
      if (!used)
        out.notes.push_back(flat.field(item.key().c_str()) + " ignored: no layer with RoPE is " +
                            item.key());
    }
    out.split_field = flat.key;
  } else if (gemma3) {
    out.split_field =
        m.find("rope_local_base_freq") != nullptr && !m.is_default("rope_local_base_freq")
            ? m.top("rope_local_base_freq")
            : m.top("model_type");
  } else if (global_width) {
    out.split_field = m.top("global_head_dim");
  }
  return specs;
}

// The whole model: layers, their types, and one AnyRope per distinct block.
inline HfModelRead hf_read_model(const hf_json& config, const std::string& source) {
  const HfReader r(source);
  HfModelRead out;
  out.model = hf_locate_model(r, config);
  const HfBlock flat = hf_locate_block(r, out.model);
  const bool keyed = hf_keyed(r, flat);
  const std::int64_t n = hf_layer_count(r, out.model);
  out.layer_types = hf_layer_types(r, out, n, keyed);
  const std::vector<bool> rope = hf_rope_layers(r, out);
  std::vector<std::size_t> spec_of_layer;
  const std::vector<HfRopeSpec> specs = hf_rope_specs(r, out, flat, keyed, rope, spec_of_layer);

  for (const HfRopeSpec& spec : specs) {
    HfLoad s(source, out.model);
    s.b.block = spec.block;
    s.b.key = spec.key;
    s.keyed = spec.keyed;
    s.base_key = spec.base_key;
    s.head_dim_key = spec.head_dim_key;
    out.ropes.push_back(hf_read_rope(s));
    out.loads.push_back(std::move(s));
    out.rope_layer_types.push_back(spec.layer_type);
  }
  out.layer_rope.assign(rope.size(), -1);
  for (std::size_t i = 0; i < rope.size(); ++i)
    if (rope[i]) out.layer_rope[i] = static_cast<std::int64_t>(spec_of_layer[i]);
  return out;
}

// Whether the single-rope loader must read the config layer by layer: a
// keyed rope block, Gemma 3's two bases, or Gemma 4's two head widths.
inline bool hf_layered(const HfReader& r, const HfModel& m, const HfBlock& flat) {
  return hf_keyed(r, flat) || m.text_model_type == "gemma3_text" ||
         m.find("rope_local_base_freq") != nullptr || m.find_non_null("global_head_dim") != nullptr;
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_HF_LAYER_READER_HPP
