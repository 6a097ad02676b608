// SPDX-License-Identifier: Apache-2.0
// Optional: reads a Hugging Face transformers `config.json` and builds the
// AnyRope the model was trained with. Needs nlohmann/json (Debian
// `nlohmann-json3-dev`, CMake `nlohmann_json::nlohmann_json`); not included
// by <ropekit/ropekit.hpp>.
//
// What is read (transformers is the definition; "block" is `rope_parameters`
// (transformers v5) or `rope_scaling` (v4), whichever is present; both
// present must be equal):
//
//   rope type    block.rope_type, else legacy block.type (both given and
//                different: rope_type wins, as transformers does). Absent:
//                "default" (an error if the block sets scaling keys such as
//                factor). Legacy names: "su" -> longrope, "mrope" -> default
//                with M-RoPE (Qwen2-VL), "deepseek_yarn" (vLLM's internal
//                name) -> yarn. `mrope_section` (+ `mrope_interleaved`,
//                Qwen3-VL) adds M-RoPE to default or yarn frequencies.
//                "dynamic" with `alpha` (Hunyuan) is vLLM's static NTK-alpha:
//                base * alpha^(d/(d-2)), i.e. scaling::NtkAware(alpha).
//   base         rope_theta, block.rope_theta (v5), rotary_emb_base
//                (GPT-NeoX); any two given must agree. None: the config
//                class default (10000; 1e6 for qwen2_vl / qwen2_5_vl).
//   head_dim     qk_rope_head_dim (DeepSeek-V2/V3 MLA: the rope runs on the
//                separate q_pe/k_pe slice, so head_dim = rotary_dim = it),
//                else head_dim, else hidden_size / num_attention_heads
//                (n_embd / n_head for GPT-J), which must divide exactly.
//   rotary_dim   rotary_dim (GPT-J, CodeGen), else
//                int(head_dim * partial_rotary_factor) with the factor from
//                partial_rotary_factor (top level or block) or rotary_pct
//                (GPT-NeoX); all given must agree. Default: head_dim.
//   max_position_embeddings   that key, else n_positions (GPT-J).
//   original_max_position_embeddings (L0)   top level or block; both given
//                must agree. yarn: L0, else max_position_embeddings (as
//                transformers). llama3, longrope: required.
//   factor       yarn: block.factor, else max_position_embeddings / L0 when
//                L0 is given (transformers after PR #40320). linear, dynamic,
//                llama3: required. longrope: optional (else
//                max_position_embeddings / L0 for the attention factor).
//   per type     yarn: attention_factor, beta_fast, beta_slow, mscale,
//                mscale_all_dim, truncate. llama3: low_freq_factor,
//                high_freq_factor. longrope: short_factor, long_factor
//                (rotary_dim/2 entries each), attention_factor.
//
// Layout: half-split (transformers' rotate_half) unless the transformers
// implementation of the family pairs adjacent channels: `rope_interleave`
// when the config gives it (DeepSeek-V3 style), else model_type gptj,
// codegen (rotate_every_two), deepseek_v2, deepseek_v3 (MLA: complex
// multiply / apply_rotary_pos_emb_interleave; vLLM runs them GPT-J style
// too), cohere, cohere2, glm, glm4 (rotate_half on x[0::2], x[1::2]),
// llama4, llama4_text (complex multiply on adjacent pairs). This is
// the layout of the Hugging Face checkpoint; GGUF conversions permute Q/K
// rows, so an engine reading GGUF weights must pick the layout itself
// (`AnyRope(cfg.rope.dims(), Layout::..., cfg.rope.policy())`).
//
// Strictness: every key that is read must have the right JSON type and a
// finite value; a present-but-null value is an error, never a default
// (factor: null is not "no factor"). The exceptions are the top-level keys
// transformers itself writes as null for "unset": rope_scaling,
// rope_parameters, head_dim, rotary_dim. Zero beta_fast/beta_slow (which
// transformers silently maps to 32/1) is an error too. Keys ropekit cannot honour
// (LongRoPE short_mscale/long_mscale, vLLM's mixed_b, per-layer-type rope
// blocks) are errors; other unknown block keys are ignored and listed in
// `notes`. Errors throw HfConfigError (a std::invalid_argument) whose
// message names the file and the field:
//   ropekit: config.json: rope_scaling.factor = "4": must be a number
#ifndef ROPEKIT_HF_CONFIG_HPP
#define ROPEKIT_HF_CONFIG_HPP

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "any_rope.hpp"
#include "dims.hpp"
#include "layout.hpp"
#include "scaling/default.hpp"
#include "scaling/dynamic_ntk.hpp"
#include "scaling/linear.hpp"
#include "scaling/llama3.hpp"
#include "scaling/longrope.hpp"
#include "scaling/mrope.hpp"
#include "scaling/ntk_aware.hpp"
#include "scaling/yarn.hpp"
#include "version.hpp"

ROPEKIT_BEGIN_NAMESPACE

/// A config that cannot be loaded. `what()` is
/// "ropekit: <source>: <field> = <value>: <requirement>" (or
/// "ropekit: <source>: <field>: <problem>" for a missing field).
class HfConfigError : public std::invalid_argument {
 public:
  HfConfigError(std::string source, std::string field, const std::string& message)
      : std::invalid_argument(message), source_(std::move(source)), field_(std::move(field)) {}
  /// The file path or the `source_name` given.
  const std::string& source() const noexcept { return source_; }
  /// The JSON path of the offending field ("rope_scaling.factor"); empty
  /// for file-level problems (unreadable, not JSON).
  const std::string& field() const noexcept { return field_; }

 private:
  std::string source_;
  std::string field_;
};

/// What a transformers config says about RoPE, and the AnyRope built from it.
struct HfRopeConfig {
  explicit HfRopeConfig(AnyRope built) : rope(std::move(built)) {}

  /// The file path (load_hf_config) or source_name (hf_config_from_json).
  std::string source;
  /// `model_type`, empty when absent.
  std::string model_type;
  /// transformers' name of the frequency variant: "default", "linear",
  /// "dynamic", "yarn", "llama3" or "longrope" (legacy names mapped; M-RoPE
  /// models are "default" or "yarn" with `rope.policy_name()` "mrope").
  std::string rope_type;
  /// The type string as the config wrote it ("su", "mrope", ...); empty when
  /// the config gives none.
  std::string rope_type_as_written;
  /// "rope_parameters", "rope_scaling" (with a "text_config." prefix for
  /// nested configs), or empty when the config has no rope block.
  std::string rope_block_key;
  /// The rope block exactly as given (null when none), for reporting.
  nlohmann::json scaling_parameters;
  /// rope_theta.
  double base = 10000.0;
  std::int64_t head_dim = 0;
  std::int64_t rotary_dim = 0;
  /// rotary_dim / head_dim as the config states it (1 when not stated).
  double partial_rotary_factor = 1.0;
  Layout layout = Layout::half_split;
  std::optional<std::int64_t> max_position_embeddings;
  /// L0 as the policy uses it (yarn, llama3, longrope), or as given for
  /// other types; empty when neither applies.
  std::optional<std::int64_t> original_max_position_embeddings;
  /// Defaults applied, keys ignored, choices made: one sentence each.
  std::vector<std::string> notes;
  /// Ready to apply (its `dims()`, `layout()`, `policy()` describe it).
  AnyRope rope;

  /// The context the model was pretrained at, for the scaling laws:
  /// original_max_position_embeddings if known, else max_position_embeddings
  /// (0 when the config gives neither).
  std::int64_t train_length() const noexcept {
    if (original_max_position_embeddings) return *original_max_position_embeddings;
    return max_position_embeddings.value_or(0);
  }
};

namespace detail {

using hf_json = nlohmann::json;

// Reads typed fields and reports errors with the source and JSON path.
class HfReader {
 public:
  explicit HfReader(std::string source) : source_(std::move(source)) {}

  const std::string& source() const noexcept { return source_; }

  [[noreturn]] void fail(const std::string& field, const hf_json* value,
                         const std::string& requirement) const {
    std::string message = "ropekit: " + source_ + ": " + field;
    if (value != nullptr) message += " = " + describe(*value);
    message += ": " + requirement;
    throw HfConfigError(source_, field, message);
  }
  [[noreturn]] void missing(const std::string& field, const std::string& why) const {
    fail(field, nullptr, "missing (" + why + ")");
  }

  // A JSON value for a message: numbers with round-trip digits (NaN and
  // infinity included, which dump() would print as null), long values cut.
  static std::string describe(const hf_json& value) {
    std::string text;
    if (value.is_number_float()) {
      std::ostringstream out;
      out.precision(17);
      out << value.get<double>();
      text = out.str();
    } else {
      text = value.dump(-1, ' ', false, hf_json::error_handler_t::replace);
    }
    constexpr std::size_t kMax = 160;
    if (text.size() > kMax) text = text.substr(0, kMax) + "...";
    return text;
  }

  // The member `key` of `object`, or nullptr when absent.
  static const hf_json* find(const hf_json* object, const char* key) {
    if (object == nullptr || !object->is_object()) return nullptr;
    const auto it = object->find(key);
    return it == object->end() ? nullptr : &*it;
  }
  // Same, with null read as absent (transformers' None).
  static const hf_json* find_non_null(const hf_json* object, const char* key) {
    const hf_json* value = find(object, key);
    return value != nullptr && value->is_null() ? nullptr : value;
  }

  double number(const hf_json& value, const std::string& field) const {
    if (!value.is_number()) fail(field, &value, "must be a number");
    const double x = value.get<double>();
    if (!std::isfinite(x)) fail(field, &value, "must be finite");
    return x;
  }
  double positive_number(const hf_json& value, const std::string& field) const {
    const double x = number(value, field);
    if (!(x > 0.0)) fail(field, &value, "must be positive");
    return x;
  }
  double non_negative_number(const hf_json& value, const std::string& field) const {
    const double x = number(value, field);
    if (!(x >= 0.0)) fail(field, &value, "must not be negative");
    return x;
  }
  // An integer; 4096.0 is accepted (Python writes ints and floats alike).
  std::int64_t integer(const hf_json& value, const std::string& field) const {
    if (value.is_number_integer()) {
      if (value.is_number_unsigned() &&
          value.get<std::uint64_t>() >
              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(field, &value, "is out of range");
      return value.get<std::int64_t>();
    }
    if (value.is_number_float()) {
      const double x = value.get<double>();
      if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 0x1p62)
        return static_cast<std::int64_t>(x);
    }
    fail(field, &value, "must be an integer");
  }
  std::int64_t positive_integer(const hf_json& value, const std::string& field) const {
    const std::int64_t n = integer(value, field);
    if (n <= 0) fail(field, &value, "must be positive");
    return n;
  }
  bool boolean(const hf_json& value, const std::string& field) const {
    if (!value.is_boolean()) fail(field, &value, "must be true or false");
    return value.get<bool>();
  }
  std::string string(const hf_json& value, const std::string& field) const {
    if (!value.is_string()) fail(field, &value, "must be a string");
    return value.get<std::string>();
  }
  std::vector<double> positive_list(const hf_json& value, const std::string& field) const {
    if (!value.is_array()) fail(field, &value, "must be a list of numbers");
    std::vector<double> out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i)
      out.push_back(positive_number(value[i], field + "[" + std::to_string(i) + "]"));
    return out;
  }

 private:
  std::string source_;
};

inline std::string hf_format(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

// Everything that decides the policy, gathered before any is built.
struct HfBlock {
  const hf_json* model = nullptr;  // the (possibly nested text_config) object
  const hf_json* block = nullptr;  // the rope block, nullptr if none
  std::string prefix;              // "" or "text_config."
  std::string key;                 // prefix + "rope_scaling" / "rope_parameters"
  std::string field(const char* name) const { return key + "." + name; }
  const hf_json* get(const char* name) const { return HfReader::find(block, name); }
};

inline bool hf_interleaved_family(const std::string& model_type) {
  static const char* const families[] = {"gptj",    "codegen", "deepseek_v2", "deepseek_v3",
                                         "cohere",  "cohere2", "glm",         "glm4",
                                         "llama4",  "llama4_text"};
  for (const char* family : families)
    if (model_type == family) return true;
  return false;
}

// Whether rope type `rope_type` reads block key `key`; keys it does not read
// are listed in notes (transformers warns about them and ignores them too).
inline bool hf_block_key_used(const std::string& rope_type, const std::string& key) {
  static const char* const common[] = {"rope_type",
                                       "type",
                                       "rope_theta",
                                       "partial_rotary_factor",
                                       "mrope_section",
                                       "mrope_interleaved",
                                       "original_max_position_embeddings"};
  for (const char* name : common)
    if (key == name) return true;
  if (rope_type == "linear") return key == "factor";
  if (rope_type == "dynamic") return key == "factor" || key == "alpha";
  if (rope_type == "yarn")
    return key == "factor" || key == "attention_factor" || key == "beta_fast" ||
           key == "beta_slow" || key == "mscale" || key == "mscale_all_dim" || key == "truncate";
  if (rope_type == "llama3")
    return key == "factor" || key == "low_freq_factor" || key == "high_freq_factor";
  if (rope_type == "longrope")
    return key == "short_factor" || key == "long_factor" || key == "factor" ||
           key == "attention_factor";
  return false;
}

// A number the same in every place that gives it; nullopt when none does.
// `names` are JSON paths, `values` the matching values (nullptr = absent).
inline std::optional<double> hf_agreeing_number(const HfReader& r,
                                                const std::vector<std::string>& names,
                                                const std::vector<const hf_json*>& values) {
  std::optional<double> result;
  std::string first;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] == nullptr) continue;
    const double x = r.number(*values[i], names[i]);
    if (!result) {
      result = x;
      first = names[i];
    } else if (x != *result) {
      r.fail(names[i], values[i], "disagrees with " + first + " = " + hf_format(*result));
    }
  }
  return result;
}

inline std::optional<std::int64_t> hf_agreeing_integer(const HfReader& r,
                                                       const std::vector<std::string>& names,
                                                       const std::vector<const hf_json*>& values) {
  std::optional<std::int64_t> result;
  std::string first;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] == nullptr) continue;
    const std::int64_t n = r.positive_integer(*values[i], names[i]);
    if (!result) {
      result = n;
      first = names[i];
    } else if (n != *result) {
      r.fail(names[i], values[i], "disagrees with " + first + " = " + std::to_string(*result));
    }
  }
  return result;
}

inline scaling::Mrope<>::sections_type hf_mrope_section(const HfReader& r, const HfBlock& b,
                                                        std::int64_t pairs) {
  const std::string field = b.field("mrope_section");
  const hf_json& value = *b.get("mrope_section");
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

inline std::vector<double> hf_factor_list(const HfReader& r, const HfBlock& b, const char* name,
                                          std::int64_t pairs, std::int64_t rotary_dim) {
  const hf_json* value = b.get(name);
  if (value == nullptr) r.missing(b.field(name), "required for rope_type longrope");
  std::vector<double> list = r.positive_list(*value, b.field(name));
  if (static_cast<std::int64_t>(list.size()) != pairs)
    r.fail(b.field(name), value,
           "has " + std::to_string(list.size()) +
               " entries; must have rotary_dim / 2 = " + std::to_string(pairs) +
               " (one per rotary pair; rotary_dim = " + std::to_string(rotary_dim) + ")");
  return list;
}

// Where a policy parameter came from: its JSON path and value.
struct HfOrigin {
  std::string parameter;  // the name ropekit's constructors use ("base", "long_factor")
  std::string field;      // the JSON path ("rope_theta", "rope_scaling.long_factor")
  const hf_json* value;
};

// The state of one load: where to read, and what has been decided so far.
struct HfLoad {
  explicit HfLoad(const std::string& source) : r(source) {}
  HfReader r;
  // Fields that became policy parameters, so that a constructor's error
  // names the field the config set.
  std::vector<HfOrigin> origins;
  HfBlock b;
  std::vector<std::string> notes;
  std::string model_type;
  std::string written;    // the type string as given
  std::string rope_type;  // transformers' canonical name
  double base = 10000.0;
  std::int64_t head_dim = 0;
  std::int64_t rotary_dim = 0;
  double partial = 1.0;
  std::optional<std::int64_t> max_pos;
  std::optional<std::int64_t> original;

  std::string top(const char* name) const { return b.prefix + name; }
  const hf_json* find_top(const char* name) const { return HfReader::find(b.model, name); }
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

// The model object (nested text_config for multimodal wrappers), model_type
// and the rope block.
inline void hf_locate(HfLoad& s, const hf_json& config) {
  const HfReader& r = s.r;
  if (!config.is_object())
    r.fail("(root)", &config, "must be a JSON object (a transformers config.json)");
  // Multimodal wrappers (Llama 4, Gemma 3, newer Qwen-VL saves) nest the
  // language model's config; use it when the top level has no attention
  // geometry of its own.
  s.b.model = &config;
  static const char* const geometry[] = {"hidden_size",      "n_embd",     "head_dim",
                                         "qk_rope_head_dim", "rope_theta", "rope_scaling",
                                         "rope_parameters"};
  bool has_geometry = false;
  for (const char* key : geometry) has_geometry |= HfReader::find(&config, key) != nullptr;
  const hf_json* text = HfReader::find(&config, "text_config");
  if (!has_geometry && text != nullptr && text->is_object()) {
    s.b.model = text;
    s.b.prefix = "text_config.";
    s.notes.push_back("RoPE read from text_config (the language model of a multimodal config)");
  }
  if (const hf_json* v = HfReader::find(&config, "model_type"))
    s.model_type = r.string(*v, "model_type");
  else if (const hf_json* nested = s.find_top("model_type"))
    s.model_type = r.string(*nested, s.top("model_type"));

  const hf_json* parameters = HfReader::find_non_null(s.b.model, "rope_parameters");
  const hf_json* scaling = HfReader::find_non_null(s.b.model, "rope_scaling");
  if (parameters != nullptr && scaling != nullptr && *parameters != *scaling)
    r.fail(s.top("rope_parameters"), parameters,
           "disagrees with " + s.top("rope_scaling") + " = " + HfReader::describe(*scaling) +
               " (give one rope block)");
  s.b.block = parameters != nullptr ? parameters : scaling;
  if (s.b.block == nullptr) return;
  s.b.key = s.top(parameters != nullptr ? "rope_parameters" : "rope_scaling");
  if (!s.b.block->is_object()) r.fail(s.b.key, s.b.block, "must be an object or null");
  bool all_objects = !s.b.block->empty();
  for (const auto& item : s.b.block->items()) all_objects &= item.value().is_object();
  if (all_objects)
    r.fail(s.b.key, s.b.block,
           "holds one rope block per layer type; per-layer-type RoPE is not supported "
           "(load one layer type's block as rope_parameters)");
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
  const std::string& w = s.written;
  if (w.empty()) {
    static const char* const scaling_keys[] = {
        "factor",    "low_freq_factor", "high_freq_factor", "short_factor", "long_factor",
        "beta_fast", "beta_slow",       "mscale",           "alpha"};
    for (const char* key : scaling_keys)
      if (b.get(key) != nullptr)
        r.missing(b.field("rope_type"),
                  std::string("the block sets ") + key + " but names no rope_type or type");
    s.rope_type = "default";
  } else if (w == "default" || w == "linear" || w == "dynamic" || w == "yarn" || w == "llama3" ||
             w == "longrope") {
    s.rope_type = w;
  } else if (w == "su") {
    s.rope_type = "longrope";
    s.notes.push_back("legacy rope type \"su\" read as \"longrope\"");
  } else if (w == "mrope") {
    s.rope_type = "default";
    if (b.get("mrope_section") == nullptr)
      r.missing(b.field("mrope_section"), "required for type \"mrope\"");
    s.notes.push_back("legacy type \"mrope\" read as \"default\" with mrope_section (Qwen2-VL)");
  } else if (w == "deepseek_yarn") {
    s.rope_type = "yarn";
    s.notes.push_back("\"deepseek_yarn\" (vLLM's name) read as transformers' \"yarn\"");
  } else {
    const char* field = rope_type != nullptr ? "rope_type" : "type";
    r.fail(b.field(field), b.get(field),
           "unknown rope type (supported: default, linear, dynamic, yarn, llama3, longrope, "
           "and the legacy su, mrope, deepseek_yarn)");
  }

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
    if (!hf_block_key_used(s.rope_type, key))
      s.notes.push_back(b.field(key.c_str()) + " ignored: rope_type " + s.rope_type +
                        " does not read it");
  }
}

// rope_theta, rope_parameters.rope_theta or rotary_emb_base.
inline void hf_read_base(HfLoad& s) {
  const hf_json* top = s.find_top("rope_theta");
  const hf_json* inner = s.b.get("rope_theta");
  const hf_json* neox = s.find_top("rotary_emb_base");
  const auto agreed = hf_agreeing_number(
      s.r, {s.top("rope_theta"), s.b.field("rope_theta"), s.top("rotary_emb_base")},
      {top, inner, neox});
  if (agreed) {
    s.base = *agreed;
    const hf_json* given = top != nullptr ? top : (inner != nullptr ? inner : neox);
    const std::string name = top != nullptr     ? s.top("rope_theta")
                             : inner != nullptr ? s.b.field("rope_theta")
                                                : s.top("rotary_emb_base");
    if (!(s.base > 0.0)) s.r.fail(name, given, "must be positive");
    s.from("base", name, given);
    return;
  }
  s.base = s.model_type == "qwen2_vl" || s.model_type == "qwen2_5_vl" ? 1000000.0 : 10000.0;
  s.notes.push_back("rope_theta absent: the transformers config default " + hf_format(s.base) +
                    " for model_type \"" + s.model_type + "\"");
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

// head_dim, rotary_dim and the partial rotary factor.
inline void hf_read_widths(HfLoad& s) {
  const HfReader& r = s.r;
  const hf_json* top_prf = s.find_top("partial_rotary_factor");
  const hf_json* block_prf = s.b.get("partial_rotary_factor");
  const hf_json* pct = s.find_top("rotary_pct");
  const auto prf = hf_agreeing_number(
      r, {s.top("partial_rotary_factor"), s.b.field("partial_rotary_factor"), s.top("rotary_pct")},
      {top_prf, block_prf, pct});
  std::string prf_name;
  const hf_json* prf_value = nullptr;
  if (prf) {
    prf_value = top_prf != nullptr ? top_prf : (block_prf != nullptr ? block_prf : pct);
    prf_name = top_prf != nullptr     ? s.top("partial_rotary_factor")
               : block_prf != nullptr ? s.b.field("partial_rotary_factor")
                                      : s.top("rotary_pct");
    if (!(*prf > 0.0 && *prf <= 1.0)) r.fail(prf_name, prf_value, "must be in (0, 1]");
    s.partial = *prf;
  }

  const hf_json* rotary = HfReader::find_non_null(s.b.model, "rotary_dim");
  if (const hf_json* mla = HfReader::find_non_null(s.b.model, "qk_rope_head_dim")) {
    s.head_dim = r.positive_integer(*mla, s.top("qk_rope_head_dim"));
    s.from("head_dim", s.top("qk_rope_head_dim"), mla);
    s.rotary_dim = s.head_dim;
    if (prf && *prf != 1.0)
      r.fail(prf_name, prf_value, "must be 1 with qk_rope_head_dim (MLA rotates its whole slice)");
    s.notes.push_back("MLA: the rope acts on the qk_rope_head_dim = " + std::to_string(s.head_dim) +
                      " wide q_pe/k_pe slices (qk_nope_head_dim channels are not rotated); "
                      "head_dim here is that slice");
  } else {
    if (const hf_json* hd = HfReader::find_non_null(s.b.model, "head_dim")) {
      s.head_dim = r.positive_integer(*hd, s.top("head_dim"));
      s.from("head_dim", s.top("head_dim"), hd);
    } else {
      s.head_dim = hf_head_dim_from_hidden(s);
    }
    if (rotary != nullptr) {
      s.rotary_dim = r.positive_integer(*rotary, s.top("rotary_dim"));
      if (prf) {
        const auto from_prf = static_cast<std::int64_t>(static_cast<double>(s.head_dim) * *prf);
        if (from_prf != s.rotary_dim)
          r.fail(prf_name, prf_value,
                 "gives rotary_dim " + std::to_string(from_prf) + ", which disagrees with " +
                     s.top("rotary_dim") + " = " + std::to_string(s.rotary_dim));
      }
      s.partial = static_cast<double>(s.rotary_dim) / static_cast<double>(s.head_dim);
    } else {
      // transformers: int(head_dim * partial_rotary_factor), truncating.
      s.rotary_dim = static_cast<std::int64_t>(static_cast<double>(s.head_dim) * s.partial);
    }
  }
  if (s.rotary_dim > s.head_dim || s.rotary_dim <= 0 || s.rotary_dim % 2 != 0) {
    const std::string why = "gives rotary_dim = " + std::to_string(s.rotary_dim) +
                            " for head_dim = " + std::to_string(s.head_dim) +
                            "; rotary_dim must be even, positive and at most head_dim";
    if (prf_value != nullptr) r.fail(prf_name, prf_value, why);
    if (rotary != nullptr) r.fail(s.top("rotary_dim"), rotary, why);
    r.fail(s.top("head_dim"), nullptr, why);
  }
}

// max_position_embeddings (or n_positions) and original_max_position_embeddings.
inline void hf_read_lengths(HfLoad& s) {
  const std::vector<std::string> max_names = {s.top("max_position_embeddings"),
                                              s.top("n_positions")};
  const std::vector<const hf_json*> max_values = {s.find_top("max_position_embeddings"),
                                                  s.find_top("n_positions")};
  s.max_pos = hf_agreeing_integer(s.r, max_names, max_values);
  const std::vector<std::string> original_names = {s.top("original_max_position_embeddings"),
                                                   s.b.field("original_max_position_embeddings")};
  const std::vector<const hf_json*> original_values = {
      s.find_top("original_max_position_embeddings"), s.b.get("original_max_position_embeddings")};
  s.original = hf_agreeing_integer(s.r, original_names, original_values);
  for (std::size_t i = 0; i < 2; ++i) {
    s.from("max_position_embeddings", max_names[i], max_values[i]);
    s.from("original_max_position_embeddings", original_names[i], original_values[i]);
  }
}

inline const hf_json& hf_required(const HfLoad& s, const char* name) {
  const hf_json* value = s.b.get(name);
  if (value == nullptr) s.r.missing(s.b.field(name), "required for rope_type " + s.rope_type);
  return *value;
}

// A required positive block number, recorded as the parameter of that name.
inline double hf_required_number(HfLoad& s, const char* name) {
  hf_required(s, name);
  return s.block_number(name, name);
}

inline scaling::Yarn::Params hf_yarn_params(HfLoad& s) {
  const HfReader& r = s.r;
  const HfBlock& b = s.b;
  scaling::Yarn::Params p;
  p.base = s.base;
  if (s.original) {
    p.original_max_position_embeddings = *s.original;
  } else if (s.max_pos) {
    p.original_max_position_embeddings = *s.max_pos;
    s.notes.push_back("yarn: original_max_position_embeddings absent, max_position_embeddings = " +
                      std::to_string(*s.max_pos) + " used, as transformers does");
  } else {
    r.missing(b.field("original_max_position_embeddings"),
              "required for rope_type yarn when max_position_embeddings is absent");
  }
  if (b.get("factor") != nullptr) {
    p.factor = s.block_number("factor", "factor");
  } else if (s.original && s.max_pos) {
    p.factor = static_cast<double>(*s.max_pos) / static_cast<double>(*s.original);
    s.notes.push_back(
        "yarn: factor absent, max_position_embeddings / "
        "original_max_position_embeddings = " +
        hf_format(p.factor) + " used");
  } else {
    r.missing(b.field("factor"), "required for rope_type yarn");
  }
  if (b.get("beta_fast") != nullptr) p.beta_fast = s.block_number("beta_fast", "beta_fast");
  if (b.get("beta_slow") != nullptr) p.beta_slow = s.block_number("beta_slow", "beta_slow");
  if (b.get("mscale") != nullptr) p.mscale = s.block_number("mscale", "mscale", true);
  if (b.get("mscale_all_dim") != nullptr)
    p.mscale_all_dim = s.block_number("mscale_all_dim", "mscale_all_dim", true);
  if (b.get("attention_factor") != nullptr)
    p.attention_factor = s.block_number("attention_factor", "attention_factor");
  if (const hf_json* v = b.get("truncate")) p.truncate = r.boolean(*v, b.field("truncate"));
  s.original = p.original_max_position_embeddings;
  return p;
}

inline scaling::LongRope::Params hf_longrope_params(HfLoad& s) {
  const HfReader& r = s.r;
  const HfBlock& b = s.b;
  scaling::LongRope::Params p;
  p.short_factor = hf_factor_list(r, b, "short_factor", s.rotary_dim / 2, s.rotary_dim);
  p.long_factor = hf_factor_list(r, b, "long_factor", s.rotary_dim / 2, s.rotary_dim);
  if (!s.original)
    r.missing(s.top("original_max_position_embeddings"), "required for rope_type longrope");
  p.original_max_position_embeddings = *s.original;
  p.max_position_embeddings = s.max_pos.value_or(0);
  p.base = s.base;
  s.from("short_factor", b.field("short_factor"), b.get("short_factor"));
  s.from("long_factor", b.field("long_factor"), b.get("long_factor"));
  if (b.get("factor") != nullptr) p.factor = s.block_number("factor", "factor");
  if (b.get("attention_factor") != nullptr)
    p.attention_factor = s.block_number("attention_factor", "attention_factor");
  if (!p.factor && !p.attention_factor && !s.max_pos)
    r.missing(s.top("max_position_embeddings"),
              "needed for the longrope attention factor when factor is absent");
  return p;
}

// The policy for the resolved rope type (M-RoPE over default or yarn).
inline AnyPolicy hf_policy(HfLoad& s) {
  const HfReader& r = s.r;
  const HfBlock& b = s.b;
  std::optional<scaling::Mrope<>::sections_type> sections;
  scaling::MropeLayout mrope_layout = scaling::MropeLayout::sectioned;
  if (b.get("mrope_section") != nullptr) {
    if (s.rope_type != "default" && s.rope_type != "yarn")
      r.fail(b.field("mrope_section"), b.get("mrope_section"),
             "M-RoPE is supported with rope_type default or yarn, not " + s.rope_type);
    sections = hf_mrope_section(r, b, s.rotary_dim / 2);
    s.from("mrope_section", b.field("mrope_section"), b.get("mrope_section"));
    if (const hf_json* v = b.get("mrope_interleaved"))
      if (r.boolean(*v, b.field("mrope_interleaved")))
        mrope_layout = scaling::MropeLayout::interleaved;
  } else if (const hf_json* v = b.get("mrope_interleaved")) {
    r.fail(b.field("mrope_interleaved"), v, "given without mrope_section");
  }

  const double base = s.base;
  if (s.rope_type == "default") {
    if (sections) return scaling::Mrope<>(*sections, scaling::Default(base), mrope_layout);
    return scaling::Default(base);
  }
  if (s.rope_type == "linear") return scaling::Linear(hf_required_number(s, "factor"), base);
  if (s.rope_type == "dynamic") {
    if (b.get("alpha") != nullptr) {
      const double a = s.block_number("alpha", "factor");  // NtkAware's factor
      s.notes.push_back(b.field("alpha") +
                        " given: static NTK-alpha (Hunyuan, vLLM DynamicNTKAlpha), "
                        "base * alpha^(d/(d-2))" +
                        (b.get("factor") != nullptr ? "; " + b.field("factor") + " ignored" : ""));
      return scaling::NtkAware(a, base);
    }
    const double factor = hf_required_number(s, "factor");
    if (!s.max_pos) r.missing(s.top("max_position_embeddings"), "required for rope_type dynamic");
    if (s.original)
      s.notes.push_back(
          "original_max_position_embeddings unused by dynamic NTK: transformers "
          "grows the base past max_position_embeddings");
    return scaling::DynamicNtk(factor, *s.max_pos, base);
  }
  if (s.rope_type == "yarn") {
    const scaling::Yarn::Params p = hf_yarn_params(s);
    if (sections) return scaling::Mrope<scaling::Yarn>(*sections, scaling::Yarn(p), mrope_layout);
    return scaling::Yarn(p);
  }
  if (s.rope_type == "llama3") {
    const double factor = hf_required_number(s, "factor");
    const double low = hf_required_number(s, "low_freq_factor");
    const double high = hf_required_number(s, "high_freq_factor");
    if (!s.original)
      r.missing(b.field("original_max_position_embeddings"), "required for rope_type llama3");
    return scaling::Llama3(factor, low, high, *s.original, base);
  }
  return scaling::LongRope(hf_longrope_params(s));
}

// rope_interleave when given, else the family's layout in transformers.
inline Layout hf_layout(const HfLoad& s) {
  if (const hf_json* v = s.find_top("rope_interleave"))
    return s.r.boolean(*v, s.top("rope_interleave")) ? Layout::interleaved : Layout::half_split;
  return hf_interleaved_family(s.model_type) ? Layout::interleaved : Layout::half_split;
}

}  // namespace detail

/// Reads the RoPE of a transformers config held in `config`. `source_name`
/// names it in error messages. Throws HfConfigError (see the file comment).
inline HfRopeConfig hf_config_from_json(const nlohmann::json& config,
                                        const std::string& source_name = "<json>") {
  detail::HfLoad s(source_name);
  detail::hf_locate(s, config);
  detail::hf_read_rope_type(s);
  detail::hf_read_base(s);
  detail::hf_read_widths(s);
  detail::hf_read_lengths(s);
  const Layout layout = detail::hf_layout(s);

  std::optional<AnyRope> rope;
  try {
    // Policy constructors and Rope (which builds the table) validate too;
    // their errors are re-raised naming the file and the block.
    rope.emplace(RotaryDims(s.head_dim, s.rotary_dim), layout, detail::hf_policy(s));
  } catch (const HfConfigError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    detail::hf_rethrow(s, e);
  }

  HfRopeConfig out(std::move(*rope));
  out.source = source_name;
  out.model_type = s.model_type;
  out.rope_type = s.rope_type;
  out.rope_type_as_written = s.written;
  out.rope_block_key = s.b.key;
  out.scaling_parameters = s.b.block != nullptr ? *s.b.block : nlohmann::json();
  out.base = s.base;
  out.head_dim = s.head_dim;
  out.rotary_dim = s.rotary_dim;
  out.partial_rotary_factor = s.partial;
  out.layout = layout;
  out.max_position_embeddings = s.max_pos;
  out.original_max_position_embeddings = s.original;
  out.notes = std::move(s.notes);
  return out;
}

/// Reads `path` (a transformers config.json) and returns its RoPE. Throws
/// HfConfigError naming the file for a missing or unreadable file, text that
/// is not JSON, and every config error hf_config_from_json reports.
inline HfRopeConfig load_hf_config(const std::string& path) {
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
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw HfConfigError(path, "", "ropekit: " + path + ": not valid JSON: " + e.what());
  }
  return hf_config_from_json(config, path);
}

ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_HF_CONFIG_HPP
