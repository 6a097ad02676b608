// SPDX-License-Identifier: Apache-2.0
// The state of a config load: where the language model's fields are (the
// top level or a multimodal wrapper's text_config, with the defaults its
// transformers config class applies), which rope block is being read, and
// where each policy parameter came from, so that a policy constructor's
// error names the JSON field the config set.
#ifndef ROPEKIT_DETAIL_HF_LOAD_HPP
#define ROPEKIT_DETAIL_HF_LOAD_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../version.hpp"
#include "hf_reader.hpp"

#include "macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// A default a transformers config class applies to a key the file may omit
// (the published Gemma 3 configs give neither head_dim nor rope_theta), for
// the keys that decide RoPE. Taken from each class's __init__ /
// __post_init__ (configuration_<model>.py); a key absent from the file and
// from this table is absent.
struct HfClassDefault {
  const char* model_type;  // the language model's model_type
  const char* config_class;
  const char* key;
  double value;
  const char* unless;  // a key that, when given, makes this one unused (or "")
};

inline constexpr HfClassDefault hf_class_defaults[] = {
    {"qwen2_vl", "Qwen2VLConfig", "rope_theta", 1000000.0, ""},
    {"qwen2_5_vl", "Qwen2_5_VLConfig", "rope_theta", 1000000.0, ""},
    {"gemma3_text", "Gemma3TextConfig", "rope_theta", 1000000.0, ""},
    {"gemma3_text", "Gemma3TextConfig", "rope_local_base_freq", 10000.0, ""},
    {"gemma3_text", "Gemma3TextConfig", "head_dim", 256, ""},
    {"gemma3_text", "Gemma3TextConfig", "num_hidden_layers", 26, ""},
    {"gemma3_text", "Gemma3TextConfig", "max_position_embeddings", 131072, ""},
    {"gemma3_text", "Gemma3TextConfig", "sliding_window_pattern", 6, "layer_types"},
    {"gemma4_text", "Gemma4TextConfig", "head_dim", 256, ""},
    {"gemma4_text", "Gemma4TextConfig", "global_head_dim", 512, ""},
    {"gemma4_text", "Gemma4TextConfig", "num_hidden_layers", 30, ""},
    {"gemma4_text", "Gemma4TextConfig", "max_position_embeddings", 131072, ""},
    {"llama4_text", "Llama4TextConfig", "rope_theta", 500000.0, ""},
    {"llama4_text", "Llama4TextConfig", "head_dim", 128, ""},
    {"llama4_text", "Llama4TextConfig", "no_rope_layer_interval", 4, "no_rope_layers"},
    {"smollm3", "SmolLM3Config", "rope_theta", 2000000.0, ""},
    {"smollm3", "SmolLM3Config", "no_rope_layer_interval", 4, "no_rope_layers"},
    {"qwen3_next", "Qwen3NextConfig", "full_attention_interval", 4, "layer_types"},
    {"cohere2", "Cohere2Config", "sliding_window_pattern", 4, "layer_types"},
    {"exaone4", "Exaone4Config", "sliding_window_pattern", 4, "layer_types"},
};

// Multimodal wrappers whose text_config may omit its own model_type.
struct HfTextModelType {
  const char* wrapper;
  const char* text;
};
inline constexpr HfTextModelType hf_text_model_types[] = {
    {"gemma3", "gemma3_text"}, {"gemma4", "gemma4_text"}, {"llama4", "llama4_text"}};

// Where the language model's fields are.
struct HfModel {
  const hf_json* object = nullptr;       // what reads see
  std::shared_ptr<const hf_json> owned;  // `object` with class defaults, when any applied
  std::string prefix;                    // "" or "text_config."
  std::string model_type;                // as the config states it (the wrapper's for nested)
  std::string text_model_type;           // the language model's model_type
  std::vector<std::string> defaulted;    // keys filled from hf_class_defaults
  std::vector<std::string> notes;

  std::string top(const char* name) const { return prefix + name; }
  const hf_json* find(const char* name) const { return HfReader::find(object, name); }
  const hf_json* find_non_null(const char* name) const {
    return HfReader::find_non_null(object, name);
  }
  bool is_default(const char* name) const {
    for (const std::string& key : defaulted)
      if (key == name) return true;
    return false;
  }
};

// ChatGLM's own config (model_type chatglm, THUDM's modeling_chatglm.py,
// as GLM-4-9B and ChatGLM2/3 were published) names RoPE differently: its
// RotaryEmbedding(rotary_dim // 2) rotates the first half of each
// kv_channels-wide head, adjacent pairs, with base 10000 * rope_ratio; the
// context is seq_length. Written here as the keys the reader reads, with a
// note for each; a key the file gives itself is kept.
inline void hf_chatglm_keys(const HfReader& r, HfModel& m, hf_json& filled) {
  auto set = [&](const char* key, hf_json value, const std::string& why) {
    if (m.find(key) != nullptr) return;
    filled[key] = std::move(value);
    m.notes.push_back(m.top(key) + " = " + HfReader::describe(filled[key]) + ": " + why);
  };
  if (const hf_json* kv = m.find("kv_channels"))
    set("head_dim", r.positive_integer(*kv, m.top("kv_channels")), "ChatGLM's kv_channels");
  set("partial_rotary_factor", 0.5, "ChatGLM rotates the first half of each head");
  double ratio = 1.0;
  if (const hf_json* v = m.find("rope_ratio")) ratio = r.positive_number(*v, m.top("rope_ratio"));
  set("rope_theta", 10000.0 * ratio, "ChatGLM's 10000 * rope_ratio");
  if (const hf_json* v = m.find("seq_length"))
    set("max_position_embeddings", r.positive_integer(*v, m.top("seq_length")),
        "ChatGLM's seq_length");
}

// The model object (nested text_config for multimodal wrappers), its
// model types, and the class defaults of its config class.
inline HfModel hf_locate_model(const HfReader& r, const hf_json& config) {
  if (!config.is_object())
    r.fail("(root)", &config, "must be a JSON object (a transformers config.json)");
  HfModel m;
  m.object = &config;
  // Multimodal wrappers (Llama 4, Gemma 3, newer Qwen-VL saves) nest the
  // language model's config; use it when the top level has no attention
  // geometry of its own.
  static const char* const geometry[] = {"hidden_size",      "n_embd",     "head_dim",
                                         "qk_rope_head_dim", "rope_theta", "rope_scaling",
                                         "rope_parameters"};
  bool has_geometry = false;
  for (const char* key : geometry) has_geometry |= HfReader::find(&config, key) != nullptr;
  const hf_json* text = HfReader::find(&config, "text_config");
  if (!has_geometry && text != nullptr && text->is_object()) {
    m.object = text;
    m.prefix = "text_config.";
    m.notes.push_back("RoPE read from text_config (the language model of a multimodal config)");
  }
  const hf_json* top_type = HfReader::find(&config, "model_type");
  const hf_json* nested_type = m.prefix.empty() ? nullptr : m.find("model_type");
  if (top_type != nullptr) m.model_type = r.string(*top_type, "model_type");
  if (nested_type != nullptr) {
    m.text_model_type = r.string(*nested_type, m.top("model_type"));
    if (m.model_type.empty()) m.model_type = m.text_model_type;
  } else {
    m.text_model_type = m.model_type;
    if (!m.prefix.empty())
      for (const HfTextModelType& t : hf_text_model_types)
        if (m.model_type == t.wrapper) m.text_model_type = t.text;
  }

  std::shared_ptr<hf_json> filled;
  for (const HfClassDefault& d : hf_class_defaults) {
    if (m.text_model_type != d.model_type || m.find(d.key) != nullptr) continue;
    // An empty list is unset too (Llama4TextConfig reads no_rope_layers: []
    // as absent).
    const hf_json* other = *d.unless != '\0' ? m.find_non_null(d.unless) : nullptr;
    if (other != nullptr && !(other->is_array() && other->empty())) continue;
    if (!filled) filled = std::make_shared<hf_json>(*m.object);
    const bool integral = d.value == static_cast<double>(static_cast<std::int64_t>(d.value));
    (*filled)[d.key] = integral ? hf_json(static_cast<std::int64_t>(d.value)) : hf_json(d.value);
    m.defaulted.push_back(d.key);
    m.notes.push_back(m.top(d.key) + " absent: the transformers " + d.config_class + " default " +
                      hf_format(d.value));
  }
  if (m.text_model_type == "chatglm") {
    if (!filled) filled = std::make_shared<hf_json>(*m.object);
    hf_chatglm_keys(r, m, *filled);
  }
  if (filled) {
    m.owned = filled;
    m.object = filled.get();
  }
  return m;
}

// The rope block being read.
struct HfBlock {
  const hf_json* block = nullptr;  // nullptr when the config has none
  std::string key;  // its JSON path ("rope_scaling", "rope_parameters.full_attention"), or ""
  std::string field(const char* name) const { return key + "." + name; }
  const hf_json* get(const char* name) const { return HfReader::find(block, name); }
};

// Where a policy parameter came from: its JSON path and value.
struct HfOrigin {
  std::string parameter;  // the name ropekit's constructors use ("base", "long_factor")
  std::string field;      // the JSON path ("rope_theta", "rope_scaling.long_factor")
  const hf_json* value;
};

struct HfRopeType;

// The state of one rope's load: where to read, and what has been decided.
struct HfLoad {
  HfLoad(const std::string& source, HfModel model) : r(source), m(std::move(model)) {}
  HfReader r;
  HfModel m;
  HfBlock b;
  // A per-layer-type block of a keyed rope_parameters: its own rope_theta
  // wins over the top-level default, as transformers' standardize_rope_params.
  bool keyed = false;
  // The top-level field that gives this block's base when the block does
  // not: rope_theta, or rope_local_base_freq for Gemma 3's sliding layers.
  const char* base_key = "rope_theta";
  // A field that gives this rope's head_dim instead of head_dim (Gemma 4's
  // global_head_dim for its full-attention layers), or nullptr.
  const char* head_dim_key = nullptr;
  // Fields that became policy parameters, so that a constructor's error
  // names the field the config set.
  std::vector<HfOrigin> origins;
  std::vector<std::string> notes;
  const HfRopeType* type = nullptr;
  std::string written;    // the type string as given
  std::string rope_type;  // transformers' canonical name
  double base = 10000.0;
  std::int64_t head_dim = 0;
  std::int64_t rotary_dim = 0;
  double partial = 1.0;
  std::optional<std::int64_t> max_pos;
  std::optional<std::int64_t> original;

  std::string top(const char* name) const { return m.top(name); }
  const hf_json* find_top(const char* name) const { return m.find(name); }
  // Records that `parameter` was read from `field` (no-op when absent).
  void from(const char* parameter, std::string field, const hf_json* value) {
    if (value != nullptr) origins.push_back({parameter, std::move(field), value});
  }
  // A block number that becomes `parameter`.
  double block_number(const char* name, const char* parameter, bool allow_zero = false) {
    const hf_json& value = *b.get(name);
    from(parameter, b.field(name), &value);
    return allow_zero ? r.non_negative_number(value, b.field(name))
                      : r.positive_number(value, b.field(name));
  }
  // A block value the rope type requires.
  const hf_json& required(const char* name) const {
    const hf_json* value = b.get(name);
    if (value == nullptr) r.missing(b.field(name), "required for rope_type " + rope_type);
    return *value;
  }
  double required_number(const char* name) {
    required(name);
    return block_number(name, name);
  }
};

// Re-raises a ropekit constructor's std::invalid_argument naming the file
// and the JSON field the offending parameter was read from: the message
// "<parameter> = <value>: <requirement>" (error.hpp) becomes
// "<field> = <JSON value>: <requirement>", with an index such as
// long_factor[3] carried over. Parameters the config did not set name the
// rope block instead.
[[noreturn]] inline void hf_rethrow(const HfLoad& s, const std::invalid_argument& e) {
  std::string what = e.what();
  if (what.rfind("ropekit: ", 0) == 0) what = what.substr(9);
  const std::size_t equals = what.find(" = ");
  const std::size_t colon = equals == std::string::npos ? equals : what.find(": ", equals);
  if (colon != std::string::npos) {
    const std::string parameter = what.substr(0, equals);
    const std::size_t bracket = parameter.find('[');
    for (const HfOrigin& origin : s.origins) {
      if (parameter.compare(0, bracket, origin.parameter) != 0) continue;
      const hf_json* value = origin.value;
      std::string field = origin.field;
      if (bracket != std::string::npos) {
        std::size_t index = 0;
        for (std::size_t i = bracket + 1; i < parameter.size() && parameter[i] != ']'; ++i)
          index = index * 10 + static_cast<std::size_t>(parameter[i] - '0');
        if (value->is_array() && index < value->size()) value = &(*value)[index];
        field += parameter.substr(bracket);
      }
      s.r.fail(field, value, what.substr(colon + 2));
    }
  }
  const std::string field = s.b.key.empty() ? "rope" : s.b.key;
  throw HfConfigError(s.r.source(), field, "ropekit: " + s.r.source() + ": " + field + ": " + what);
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_HF_LOAD_HPP
