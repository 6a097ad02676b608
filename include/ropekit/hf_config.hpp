// SPDX-License-Identifier: Apache-2.0
// Optional: reads a Hugging Face transformers `config.json` and builds the
// RoPE the model was trained with. Needs nlohmann/json (Debian
// `nlohmann-json3-dev`, CMake `nlohmann_json::nlohmann_json`); not included
// by <ropekit/ropekit.hpp>.
//
//   load_hf_config(path) / hf_config_from_json(json)
//       one rotation (HfRopeConfig, its `rope` an AnyRope), for models that
//       use one; fails, pointing to the model-level loader, for a config
//       whose layer types use different rotations (Gemma 3, Gemma 4).
//   load_hf_model_rope(path) / hf_model_rope_from_json(json)
//       every layer's rotation or none (HfModelRope, its `rope` a ModelRope).
//
// What is read (transformers is the definition; "block" is `rope_parameters`
// (v5) or `rope_scaling` (v4), whichever is present; both present must be
// equal; in v5 it may be keyed by layer type):
//
//   rope type    block.rope_type, else legacy block.type (both given and
//                different: rope_type wins). Absent: "default" (an error if
//                the block sets a scaling key such as factor). The names and
//                aliases are the rows of detail/hf_rope_types.hpp.
//                `mrope_section` (+ `mrope_interleaved`, Qwen3-VL) splits
//                default or yarn frequencies by position axis.
//   base         rope_theta, block.rope_theta, rotary_emb_base (GPT-NeoX);
//                any two given must agree, except that a per-layer-type
//                block's own rope_theta wins. Absent: the config class
//                default (detail/hf_load.hpp lists them), else 10000.
//   head_dim     qk_rope_head_dim (DeepSeek MLA: the rope runs on the q_pe /
//                k_pe slice), else head_dim, else hidden_size /
//                num_attention_heads (n_embd / n_head for GPT-J); Gemma 4's
//                full-attention layers: global_head_dim.
//   rotary_dim   rotary_dim (GPT-J, CodeGen), else int(head_dim *
//                partial_rotary_factor), the factor from
//                partial_rotary_factor (top level or block) or rotary_pct
//                (GPT-NeoX); all given must agree. rope_type "proportional"
//                (Gemma 4) rotates the whole head and takes the factor as
//                its own parameter (scaling::Proportional).
//   lengths      max_position_embeddings (n_positions);
//                original_max_position_embeddings at either level.
//   layers       num_hidden_layers; layer_types, or the family's pattern;
//                no_rope_layers (Llama 4, SmolLM3), attention-free layer
//                types, and the families whose attention skips RoPE in some
//                layers (detail/hf_layer_reader.hpp).
//
// Layout: half-split (transformers' rotate_half) unless the config gives
// `rope_interleave` or the family's transformers code pairs adjacent
// channels (GPT-J, CodeGen, DeepSeek-V2/V3, Cohere, GLM / GLM-4, ERNIE 4.5,
// Llama 4). This is the layout of the Hugging Face checkpoint; GGUF
// conversions permute Q/K rows, so an engine reading GGUF weights must pick
// the layout itself (`AnyRope(cfg.rope.dims(), Layout::..., cfg.rope.policy())`).
//
// Strictness: every key that is read must have the right JSON type and a
// finite value; a present-but-null value is an error, never a default
// (factor: null is not "no factor"). The exceptions are the top-level keys
// transformers itself writes as null for "unset": rope_scaling,
// rope_parameters, head_dim, rotary_dim, layer_types, no_rope_layers,
// global_head_dim, sliding_window. Zero beta_fast/beta_slow (which
// transformers silently maps to 32/1) is an error too. Keys ropekit cannot
// honour (LongRoPE short_mscale/long_mscale, vLLM's mixed_b) are errors;
// other unknown block keys are ignored and listed in `notes`. Errors throw
// HfConfigError (a std::invalid_argument) whose message names the file and
// the field:
//   ropekit: config.json: rope_scaling.factor = "4": must be a number
#ifndef ROPEKIT_HF_CONFIG_HPP
#define ROPEKIT_HF_CONFIG_HPP

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "any_rope.hpp"
#include "detail/hf_layer_reader.hpp"
#include "detail/hf_load.hpp"
#include "detail/hf_rope_reader.hpp"
#include "hf_config_error.hpp"
#include "layout.hpp"
#include "model_rope.hpp"
#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// What a config says about one rotation, besides the rotation itself.
struct HfRopeDescription {
  /// The layer type whose block this rotation was read from
  /// ("sliding_attention" of a keyed rope_parameters, Gemma 3's two bases,
  /// Gemma 4's full-attention width), or "" when one block serves every
  /// layer that applies RoPE.
  std::string layer_type;
  /// transformers' name of the frequency variant ("default", "linear",
  /// "dynamic", "yarn", "llama3", "longrope"; legacy names mapped; M-RoPE
  /// models are "default" or "yarn" with `rope.policy_name()` "mrope").
  std::string rope_type;
  /// The type string as the config wrote it ("su", "mrope", ...); empty when
  /// the config gives none.
  std::string rope_type_as_written;
  /// The JSON path of the rope block ("rope_scaling",
  /// "text_config.rope_parameters.full_attention"), or empty when none.
  std::string rope_block_key;
  /// The rope block exactly as given (null when none), for reporting.
  nlohmann::json scaling_parameters;
  /// rotary_dim / head_dim as the config states it (1 when not stated); a
  /// policy that takes the factor itself rotates the whole head.
  double partial_rotary_factor = 1.0;
  std::optional<std::int64_t> max_position_embeddings;
  /// L0 as the policy uses it (yarn, llama3, longrope), or as given for
  /// other types; empty when neither applies.
  std::optional<std::int64_t> original_max_position_embeddings;
  /// Defaults applied, keys ignored, choices made: one sentence each.
  std::vector<std::string> notes;

  /// The context the model was pretrained at, for the scaling laws:
  /// original_max_position_embeddings if known, else max_position_embeddings
  /// (0 when the config gives neither).
  std::int64_t train_length() const noexcept {
    if (original_max_position_embeddings) return *original_max_position_embeddings;
    return max_position_embeddings.value_or(0);
  }
};

/// One rotation read from a config, and the AnyRope built from it. Widths,
/// layout and base are the rope's own (`rope.dims()`, `rope.layout()`,
/// `rope.base()`); the accessors below read them from it.
struct HfRopeConfig : HfRopeDescription {
  explicit HfRopeConfig(AnyRope built) : rope(std::move(built)) {}

  /// The file path (load_hf_config) or source_name (hf_config_from_json).
  std::string source;
  /// `model_type`, empty when absent (a wrapper's, for nested configs).
  std::string model_type;
  /// Ready to apply.
  AnyRope rope;

  std::int64_t head_dim() const { return rope.dims().head_dim(); }
  std::int64_t rotary_dim() const { return rope.dims().rotary_dim(); }
  Layout layout() const { return rope.layout(); }
  /// rope_theta as the policy uses it.
  double base() const { return rope.base(); }
};

/// A model's RoPE layer by layer, read from a config.
struct HfModelRope {
  explicit HfModelRope(ModelRope built) : rope(std::move(built)) {}

  std::string source;
  std::string model_type;
  /// Each layer's type, as layer_types gives it or the family's config class
  /// derives it ("full_attention" for every layer of a config without).
  std::vector<std::string> layer_types;
  /// Every layer's rotation or none; `rope.ropes()` the distinct ones.
  ModelRope rope;
  /// What the config says about each of `rope.ropes()`, same order.
  std::vector<HfRopeDescription> descriptions;
  /// Model-level notes (defaults, derived layer types, RoPE-free layers).
  std::vector<std::string> notes;
};

namespace detail {

inline HfRopeDescription hf_describe(const HfLoad& s, std::string layer_type) {
  HfRopeDescription d;
  d.layer_type = std::move(layer_type);
  d.rope_type = s.rope_type;
  d.rope_type_as_written = s.written;
  d.rope_block_key = s.b.key;
  d.scaling_parameters = s.b.block != nullptr ? *s.b.block : nlohmann::json();
  d.partial_rotary_factor = s.partial;
  d.max_position_embeddings = s.max_pos;
  d.original_max_position_embeddings = s.original;
  d.notes = s.notes;
  return d;
}

inline HfRopeConfig hf_config_of(const HfLoad& s, AnyRope rope, std::string layer_type,
                                 const std::vector<std::string>& model_notes) {
  HfRopeConfig out(std::move(rope));
  static_cast<HfRopeDescription&>(out) = hf_describe(s, std::move(layer_type));
  out.notes.insert(out.notes.begin(), model_notes.begin(), model_notes.end());
  out.source = s.r.source();
  out.model_type = s.m.model_type;
  return out;
}

// A config whose rotation depends on the layer: one rotation, or an error
// pointing to the model-level loader.
inline HfRopeConfig hf_single_from_layers(const nlohmann::json& config, const std::string& source) {
  HfModelRead read = hf_read_model(config, source);
  const HfReader r(source);
  if (read.ropes.size() != 1) {
    std::string types;
    for (std::size_t k = 0; k < read.loads.size(); ++k)
      types +=
          (types.empty() ? "" : ", ") + read.rope_layer_types[k] + " " + read.loads[k].rope_type;
    r.fail(read.split_field.empty() ? read.model.top("layer_types") : read.split_field, nullptr,
           read.ropes.empty()
               ? std::string("no layer applies RoPE; load_hf_model_rope / hf_model_rope_from_json "
                             "describe such a model")
               : "the model uses " + std::to_string(read.ropes.size()) +
                     " rotations, one per layer type (per-layer-type RoPE: " + types +
                     "); load it with load_hf_model_rope / hf_model_rope_from_json");
  }
  std::vector<std::string> notes = read.model.notes;
  notes.insert(notes.end(), read.notes.begin(), read.notes.end());
  return hf_config_of(read.loads[0], std::move(read.ropes[0]), read.rope_layer_types[0], notes);
}

// The text of `path` as JSON; HfConfigError naming the file otherwise.
inline nlohmann::json hf_read_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(fs::path(path), ec))
    throw HfConfigError(path, "", "ropekit: " + path + ": is a directory, not a config file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    throw HfConfigError(path, "",
                        "ropekit: " + path + ": cannot open: " +
                            (error != 0 ? std::strerror(error) : "unknown error"));
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw HfConfigError(path, "", "ropekit: " + path + ": read error");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw HfConfigError(path, "", "ropekit: " + path + ": not valid JSON: " + e.what());
  }
}

}  // namespace detail

/// Reads the RoPE of a transformers config held in `config`. `source_name`
/// names it in error messages. Throws HfConfigError (see the file comment),
/// also for a config whose layer types use different rotations: read those
/// with hf_model_rope_from_json.
inline HfRopeConfig hf_config_from_json(const nlohmann::json& config,
                                        const std::string& source_name = "<json>") {
  const detail::HfReader r(source_name);
  detail::HfModel model = detail::hf_locate_model(r, config);
  const detail::HfBlock flat = detail::hf_locate_block(r, model);
  if (detail::hf_keyed(r, flat) && flat.block->size() > 1)
    r.fail(flat.key, nullptr,
           "holds one rope block per layer type (per-layer-type RoPE); load the model with "
           "load_hf_model_rope / hf_model_rope_from_json");
  if (detail::hf_layered(r, model, flat)) return detail::hf_single_from_layers(config, source_name);
  const std::vector<std::string> model_notes = model.notes;
  detail::HfLoad s(source_name, std::move(model));
  s.b = flat;
  AnyRope rope = detail::hf_read_rope(s);
  return detail::hf_config_of(s, std::move(rope), "", model_notes);
}

/// Reads `path` (a transformers config.json) and returns its RoPE. Throws
/// HfConfigError naming the file for a missing or unreadable file, text that
/// is not JSON, and every config error hf_config_from_json reports.
inline HfRopeConfig load_hf_config(const std::string& path) {
  return hf_config_from_json(detail::hf_read_file(path), path);
}

/// Reads every layer's RoPE from a transformers config held in `config`:
/// for each of the num_hidden_layers layers its rotation or none, the
/// layers of one type sharing one AnyRope. Throws HfConfigError naming the
/// field for every config error hf_config_from_json reports and for bad
/// layer data: layer_types of the wrong length or with an unknown type, a
/// rope_parameters without a block for a layer type that applies RoPE, a
/// no_rope_layers entry that is not 0 or 1.
inline HfModelRope hf_model_rope_from_json(const nlohmann::json& config,
                                           const std::string& source_name = "<json>") {
  detail::HfModelRead read = detail::hf_read_model(config, source_name);
  HfModelRope out(ModelRope(std::move(read.ropes), std::move(read.layer_rope)));
  out.source = source_name;
  out.model_type = read.model.model_type;
  out.layer_types = std::move(read.layer_types);
  out.notes = read.model.notes;
  out.notes.insert(out.notes.end(), read.notes.begin(), read.notes.end());
  for (std::size_t k = 0; k < read.loads.size(); ++k)
    out.descriptions.push_back(detail::hf_describe(read.loads[k], read.rope_layer_types[k]));
  return out;
}

/// Reads `path` and returns every layer's RoPE (see hf_model_rope_from_json).
inline HfModelRope load_hf_model_rope(const std::string& path) {
  return hf_model_rope_from_json(detail::hf_read_file(path), path);
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_HF_CONFIG_HPP
