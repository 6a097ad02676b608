// SPDX-License-Identifier: Apache-2.0
// Reads one rotation from a config: the rope type (a row of
// hf_rope_types.hpp), the base, head_dim and rotary_dim, the trained
// lengths, the channel layout, and M-RoPE sections; then builds the
// AnyRope. The model-level reader (hf_layer_reader.hpp) calls this once per
// layer type; the single-rope loader once.
#ifndef ROPEKIT_DETAIL_HF_ROPE_READER_HPP
#define ROPEKIT_DETAIL_HF_ROPE_READER_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../any_rope.hpp"
#include "../dims.hpp"
#include "../layout.hpp"
#include "../scaling/all.hpp"
#include "../version.hpp"
#include "hf_load.hpp"
#include "hf_reader.hpp"
#include "hf_rope_types.hpp"

#include "macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// Families whose transformers code pairs adjacent channels: GPT-J and
// CodeGen (rotate_every_two), DeepSeek-V2/V3 (MLA: complex multiply /
// apply_rotary_pos_emb_interleave; vLLM runs them GPT-J style too), Cohere
// and Cohere2, GLM and GLM-4 (rotate_half on x[0::2], x[1::2] over the
// rotary slice; ChatGLM's own code reshapes the slice into (.., 2) pairs),
// ERNIE 4.5 ("glm rope style", repeat_interleave'd cos/sin),
// Llama 4 (complex multiply on adjacent pairs). GLM-4.5 (glm4_moe) uses
// rotate_half and is half-split.
inline bool hf_interleaved_family(const std::string& model_type) {
  static const char* const families[] = {
      "gptj", "codegen", "deepseek_v2", "deepseek_v3",  "cohere", "cohere2",    "glm",
      "glm4", "chatglm", "ernie4_5",    "ernie4_5_moe", "llama4", "llama4_text"};
  for (const char* family : families)
    if (model_type == family) return true;
  return false;
}

// The rope block: rope_parameters (transformers v5) or rope_scaling (v4),
// whichever is present (both present must be equal); an object or null.
inline HfBlock hf_locate_block(const HfReader& r, const HfModel& m) {
  const hf_json* parameters = m.find_non_null("rope_parameters");
  const hf_json* scaling = m.find_non_null("rope_scaling");
  if (parameters != nullptr && scaling != nullptr && *parameters != *scaling)
    r.fail(m.top("rope_parameters"), parameters,
           "disagrees with " + m.top("rope_scaling") + " = " + HfReader::describe(*scaling) +
               " (give one rope block)");
  HfBlock b;
  b.block = parameters != nullptr ? parameters : scaling;
  if (b.block == nullptr) return b;
  b.key = m.top(parameters != nullptr ? "rope_parameters" : "rope_scaling");
  if (!b.block->is_object()) r.fail(b.key, b.block, "must be an object or null");
  return b;
}

// rope_type / type, legacy names, and the block keys that cannot be honoured.
inline void hf_read_rope_type(HfLoad& s) {
  const HfReader& r = s.r;
  const HfBlock& b = s.b;
  const hf_json* rope_type = b.get("rope_type");
  const hf_json* legacy = b.get("type");
  if (rope_type != nullptr) s.written = r.string(*rope_type, b.field("rope_type"));
  if (legacy != nullptr) {
    const std::string legacy_name = r.string(*legacy, b.field("type"));
    if (rope_type == nullptr)
      s.written = legacy_name;
    else if (legacy_name != s.written)
      s.notes.push_back(b.field("type") + " = \"" + legacy_name + "\" ignored: " +
                        b.field("rope_type") + " takes precedence, as in transformers");
  }
  if (s.written.empty()) {
    if (b.block != nullptr)
      for (const auto& item : b.block->items())
        if (hf_scaling_key(item.key()))
          r.missing(b.field("rope_type"),
                    "the block sets " + item.key() + " but names no rope_type or type");
    s.type = &hf_rope_types[0];
  } else {
    s.type = hf_find_rope_type(s.written);
    if (s.type == nullptr) {
      const char* field = rope_type != nullptr ? "rope_type" : "type";
      r.fail(b.field(field), b.get(field),
             "unknown rope type (supported: " + hf_rope_type_names() + ")");
    }
    if (s.written != s.type->name)
      s.notes.push_back("rope type \"" + s.written + "\" read as transformers' \"" + s.type->name +
                        "\"");
  }
  s.rope_type = s.type->name;

  if (b.block == nullptr) return;
  for (const auto& item : b.block->items()) {
    const std::string& key = item.key();
    if (key == "short_mscale" || key == "long_mscale")
      r.fail(b.field(key.c_str()), &item.value(),
             "not supported: per-list LongRoPE attention factors (vLLM); transformers and "
             "ropekit apply one attention factor to both lists");
    if (key == "mixed_b")
      r.fail(b.field(key.c_str()), &item.value(),
             "not supported: vLLM's mixed NTK form is not transformers' and has no ropekit "
             "policy");
    if (!hf_block_key_used(*s.type, key))
      s.notes.push_back(b.field(key.c_str()) + " ignored: rope_type " + s.rope_type +
                        " does not read it");
  }
}

// The base: rope_theta (or the block's base_key), block.rope_theta (v5),
// rotary_emb_base (GPT-NeoX). A flat block must agree with the top level;
// a per-layer-type block's own rope_theta wins, the top level being its
// default (transformers' standardize_rope_params).
inline void hf_read_base(HfLoad& s) {
  const bool theta = std::string(s.base_key) == "rope_theta";
  const hf_json* top = s.m.find(s.base_key);  // null is an error below, never a default
  const hf_json* inner = s.b.get("rope_theta");
  const hf_json* neox = theta ? s.find_top("rotary_emb_base") : nullptr;
  const std::string top_name = s.top(s.base_key);
  if (s.keyed && inner != nullptr) {
    for (const hf_json* other : {top, neox})
      if (other != nullptr && !s.m.is_default(s.base_key) && *other != *inner)
        s.notes.push_back(s.b.field("rope_theta") + " used; " + top_name +
                          " is only the default of blocks without their own");
    top = nullptr;
    neox = nullptr;
  }
  const auto agreed = s.r.agreeing_number(
      {top_name, s.b.field("rope_theta"), s.top("rotary_emb_base")}, {top, inner, neox});
  if (agreed) {
    s.base = *agreed;
    const hf_json* given = top != nullptr ? top : (inner != nullptr ? inner : neox);
    const std::string name = top != nullptr     ? top_name
                             : inner != nullptr ? s.b.field("rope_theta")
                                                : s.top("rotary_emb_base");
    if (!(s.base > 0.0)) s.r.fail(name, given, "must be positive");
    s.from("base", name, given);
    return;
  }
  s.base = 10000.0;
  s.notes.push_back(top_name + " absent: the transformers config default 10000 for model_type \"" +
                    s.m.text_model_type + "\"");
}

// head_dim: hidden_size / num_attention_heads (n_embd / n_head for GPT-J).
inline std::int64_t hf_head_dim_from_hidden(const HfLoad& s) {
  const bool gptj_names = s.find_top("hidden_size") == nullptr && s.find_top("n_embd") != nullptr;
  const char* hidden_name = gptj_names ? "n_embd" : "hidden_size";
  const char* heads_name = gptj_names ? "n_head" : "num_attention_heads";
  const hf_json* hidden = s.find_top(hidden_name);
  const hf_json* heads = s.find_top(heads_name);
  if (hidden == nullptr)
    s.r.missing(s.top(hidden_name), "needed for head_dim when head_dim is absent");
  if (heads == nullptr)
    s.r.missing(s.top(heads_name), "needed for head_dim when head_dim is absent");
  const std::int64_t h = s.r.positive_integer(*hidden, s.top(hidden_name));
  const std::int64_t n = s.r.positive_integer(*heads, s.top(heads_name));
  if (h % n != 0)
    s.r.fail(s.top(hidden_name), hidden,
             "is not a multiple of " + s.top(heads_name) + " = " + std::to_string(n) +
                 "; the config must give head_dim");
  return h / n;
}

// The partial rotary factor: partial_rotary_factor (top level or block) or
// rotary_pct (GPT-NeoX), all given agreeing; nullopt when none is.
struct HfPartial {
  std::optional<double> value;
  std::string name;
  const hf_json* json = nullptr;
};

inline HfPartial hf_read_partial(const HfLoad& s) {
  const hf_json* top_prf = s.find_top("partial_rotary_factor");
  const hf_json* block_prf = s.b.get("partial_rotary_factor");
  const hf_json* pct = s.find_top("rotary_pct");
  HfPartial p;
  p.value = s.r.agreeing_number(
      {s.top("partial_rotary_factor"), s.b.field("partial_rotary_factor"), s.top("rotary_pct")},
      {top_prf, block_prf, pct});
  if (!p.value) return p;
  p.json = top_prf != nullptr ? top_prf : (block_prf != nullptr ? block_prf : pct);
  p.name = top_prf != nullptr     ? s.top("partial_rotary_factor")
           : block_prf != nullptr ? s.b.field("partial_rotary_factor")
                                  : s.top("rotary_pct");
  if (!(*p.value > 0.0 && *p.value <= 1.0)) s.r.fail(p.name, p.json, "must be in (0, 1]");
  return p;
}

// head_dim, rotary_dim and the partial rotary factor.
inline void hf_read_widths(HfLoad& s) {
  const HfReader& r = s.r;
  const HfPartial prf = hf_read_partial(s);
  if (prf.value) {
    s.partial = *prf.value;
    s.from("partial_rotary_factor", prf.name, prf.json);
  }
  const hf_json* rotary = s.m.find_non_null("rotary_dim");
  const hf_json* mla = s.m.find_non_null("qk_rope_head_dim");
  if (mla != nullptr && s.head_dim_key == nullptr) {
    s.head_dim = r.positive_integer(*mla, s.top("qk_rope_head_dim"));
    s.from("head_dim", s.top("qk_rope_head_dim"), mla);
    s.rotary_dim = s.head_dim;
    if (prf.value && *prf.value != 1.0)
      r.fail(prf.name, prf.json, "must be 1 with qk_rope_head_dim (MLA rotates its whole slice)");
    s.notes.push_back("MLA: the rope acts on the qk_rope_head_dim = " + std::to_string(s.head_dim) +
                      " wide q_pe/k_pe slices (qk_nope_head_dim channels are not rotated); "
                      "head_dim here is that slice");
    return;
  }
  const char* head_key = s.head_dim_key != nullptr ? s.head_dim_key : "head_dim";
  if (const hf_json* hd = s.m.find_non_null(head_key)) {
    s.head_dim = r.positive_integer(*hd, s.top(head_key));
    s.from("head_dim", s.top(head_key), hd);
  } else {
    s.head_dim = hf_head_dim_from_hidden(s);
  }
  if (s.type->width == HfRotaryWidth::whole_head) {
    // The policy takes the factor; the rotation spans the head.
    s.rotary_dim = s.head_dim;
  } else if (rotary != nullptr) {
    s.rotary_dim = r.positive_integer(*rotary, s.top("rotary_dim"));
    if (prf.value) {
      const auto from_prf = static_cast<std::int64_t>(static_cast<double>(s.head_dim) * *prf.value);
      if (from_prf != s.rotary_dim)
        r.fail(prf.name, prf.json,
               "gives rotary_dim " + std::to_string(from_prf) + ", which disagrees with " +
                   s.top("rotary_dim") + " = " + std::to_string(s.rotary_dim));
    }
    s.partial = static_cast<double>(s.rotary_dim) / static_cast<double>(s.head_dim);
  } else {
    // transformers: int(head_dim * partial_rotary_factor), truncating.
    s.rotary_dim = static_cast<std::int64_t>(static_cast<double>(s.head_dim) * s.partial);
  }
  if (s.rotary_dim > s.head_dim || s.rotary_dim <= 0 || s.rotary_dim % 2 != 0) {
    const std::string why = "gives rotary_dim = " + std::to_string(s.rotary_dim) +
                            " for head_dim = " + std::to_string(s.head_dim) +
                            "; rotary_dim must be even, positive and at most head_dim";
    if (prf.json != nullptr) r.fail(prf.name, prf.json, why);
    if (rotary != nullptr) r.fail(s.top("rotary_dim"), rotary, why);
    r.fail(s.top(head_key), nullptr, why);
  }
}

// max_position_embeddings (or n_positions) and original_max_position_embeddings.
inline void hf_read_lengths(HfLoad& s) {
  const std::vector<std::string> max_names = {s.top("max_position_embeddings"),
                                              s.top("n_positions")};
  const std::vector<const hf_json*> max_values = {s.find_top("max_position_embeddings"),
                                                  s.find_top("n_positions")};
  s.max_pos = s.r.agreeing_integer(max_names, max_values);
  const std::vector<std::string> original_names = {s.top("original_max_position_embeddings"),
                                                   s.b.field("original_max_position_embeddings")};
  const std::vector<const hf_json*> original_values = {
      s.find_top("original_max_position_embeddings"), s.b.get("original_max_position_embeddings")};
  s.original = s.r.agreeing_integer(original_names, original_values);
  for (std::size_t i = 0; i < 2; ++i) {
    s.from("max_position_embeddings", max_names[i], max_values[i]);
    s.from("original_max_position_embeddings", original_names[i], original_values[i]);
  }
}

// rope_interleave when given, else the family's layout in transformers.
inline Layout hf_layout(const HfLoad& s) {
  if (const hf_json* v = s.find_top("rope_interleave"))
    return s.r.boolean(*v, s.top("rope_interleave")) ? Layout::interleaved : Layout::half_split;
  return hf_interleaved_family(s.m.model_type) || hf_interleaved_family(s.m.text_model_type)
             ? Layout::interleaved
             : Layout::half_split;
}

// mrope_section: three pair counts (temporal, height, width) summing to the
// rotary pairs.
inline scaling::Mrope<>::sections_type hf_mrope_section(const HfLoad& s) {
  const HfReader& r = s.r;
  const std::int64_t pairs = s.rotary_dim / 2;
  const std::string field = s.b.field("mrope_section");
  const hf_json& value = *s.b.get("mrope_section");
  if (!value.is_array()) r.fail(field, &value, "must be a list of 3 integers");
  if (value.size() != 3)
    r.fail(field, &value,
           "has " + std::to_string(value.size()) +
               " entries; must have 3 (pairs for the temporal, height and width axes)");
  scaling::Mrope<>::sections_type sections{};
  std::int64_t sum = 0;
  for (std::size_t axis = 0; axis < 3; ++axis) {
    const std::string item = field + "[" + std::to_string(axis) + "]";
    sections[axis] = r.integer(value[axis], item);
    if (sections[axis] < 0) r.fail(item, &value[axis], "must not be negative");
    // Bounded before summing, so the sum cannot overflow.
    if (sections[axis] > pairs)
      r.fail(item, &value[axis],
             "must not exceed rotary_dim / 2 = " + std::to_string(pairs) +
                 " (sections count rotary pairs)");
    sum += sections[axis];
  }
  if (sum != pairs)
    r.fail(field, &value,
           "sums to " + std::to_string(sum) + "; must sum to rotary_dim / 2 = " +
               std::to_string(pairs) + " (sections count rotary pairs)");
  return sections;
}

// The policy: the row's builder, split by mrope_section when given.
inline AnyPolicy hf_policy(HfLoad& s) {
  std::optional<scaling::Mrope<>::sections_type> sections;
  scaling::MropeLayout mrope_layout = scaling::MropeLayout::sectioned;
  if (s.b.get("mrope_section") != nullptr) {
    sections = hf_mrope_section(s);
    s.from("mrope_section", s.b.field("mrope_section"), s.b.get("mrope_section"));
    if (const hf_json* v = s.b.get("mrope_interleaved"))
      if (s.r.boolean(*v, s.b.field("mrope_interleaved")))
        mrope_layout = scaling::MropeLayout::interleaved;
  } else if (const hf_json* v = s.b.get("mrope_interleaved")) {
    s.r.fail(s.b.field("mrope_interleaved"), v, "given without mrope_section");
  }
  return hf_wrap_mrope(s, s.type->build(s), sections, mrope_layout);
}

// Everything about one rotation: reads, builds, and re-raises a policy
// constructor's error against the JSON field its parameter came from.
inline AnyRope hf_read_rope(HfLoad& s) {
  hf_read_rope_type(s);
  hf_read_base(s);
  hf_read_widths(s);
  hf_read_lengths(s);
  const Layout layout = hf_layout(s);
  try {
    return AnyRope(RotaryDims(s.head_dim, s.rotary_dim), layout, hf_policy(s));
  } catch (const HfConfigError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    hf_rethrow(s, e);
  }
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_HF_ROPE_READER_HPP
