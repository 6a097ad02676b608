// SPDX-License-Identifier: Apache-2.0
// The rope types a config can name, one row each: transformers' name, the
// other names configs use for it, the rope-block keys it reads, and the
// function that builds its policy. A scaling variant that configs name is
// one row here (and its builder); everything else about reading a config
// (base, widths, lengths, layout, M-RoPE sections, errors) is shared.
#ifndef ROPEKIT_DETAIL_HF_ROPE_TYPES_HPP
#define ROPEKIT_DETAIL_HF_ROPE_TYPES_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../any_rope.hpp"
#include "../scaling/all.hpp"
#include "../version.hpp"
#include "hf_load.hpp"
#include "hf_reader.hpp"

#include "macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// How a rope type's rotary width follows from the config.
enum class HfRotaryWidth {
  // rotary_dim = int(head_dim * partial_rotary_factor) (or rotary_dim), the
  // first rotary_dim channels rotate: every type but the one below.
  partial,
  // The policy rotates the whole head and takes partial_rotary_factor as its
  // own parameter (transformers' "proportional": zero frequencies past
  // partial_rotary_factor * head_dim / 2 pairs).
  whole_head,
};

struct HfRopeType {
  const char* name;                  // transformers' rope_type
  const char* aliases;               // other names configs use, space-separated
  const char* keys;                  // block keys it reads beyond hf_common_block_keys
  AnyPolicy (*build)(HfLoad& load);  // the policy, from the fields read so far
  HfRotaryWidth width;
};

// Block keys every rope type reads.
inline constexpr const char* hf_common_block_keys =
    "rope_type type rope_theta partial_rotary_factor mrope_section mrope_interleaved "
    "original_max_position_embeddings";

inline AnyPolicy hf_build_default(HfLoad& s) {
  // Qwen2-VL's type "mrope" is default frequencies split by mrope_section.
  if (s.written == "mrope" && s.b.get("mrope_section") == nullptr)
    s.r.missing(s.b.field("mrope_section"), "required for type \"mrope\"");
  return scaling::Default(s.base);
}

inline AnyPolicy hf_build_linear(HfLoad& s) {
  return scaling::Linear(s.required_number("factor"), s.base);
}

// transformers' dynamic NTK; with `alpha` (Hunyuan) the static NTK-alpha of
// HunYuanDenseV1RotaryEmbedding and vLLM's DynamicNTKAlphaRotaryEmbedding:
// base * alpha^(d/(d-2)), which is NtkAware with factor alpha.
inline AnyPolicy hf_build_dynamic(HfLoad& s) {
  if (s.b.get("alpha") != nullptr) {
    const double alpha = s.block_number("alpha", "factor");  // NtkAware's factor
    s.notes.push_back(
        s.b.field("alpha") +
        " given: static NTK-alpha (Hunyuan, vLLM DynamicNTKAlpha), "
        "base * alpha^(d/(d-2))" +
        (s.b.get("factor") != nullptr ? "; " + s.b.field("factor") + " ignored" : ""));
    return scaling::NtkAware(alpha, s.base);
  }
  const double factor = s.required_number("factor");
  if (!s.max_pos) s.r.missing(s.top("max_position_embeddings"), "required for rope_type dynamic");
  if (s.original)
    s.notes.push_back(
        "original_max_position_embeddings unused by dynamic NTK: transformers "
        "grows the base past max_position_embeddings");
  return scaling::DynamicNtk(factor, *s.max_pos, s.base);
}

inline AnyPolicy hf_build_yarn(HfLoad& s) {
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
    s.r.missing(b.field("original_max_position_embeddings"),
                "required for rope_type yarn when max_position_embeddings is absent");
  }
  if (b.get("factor") != nullptr) {
    p.factor = s.block_number("factor", "factor");
  } else if (s.original && s.max_pos) {
    // transformers after PR #40320: the ratio of the two lengths.
    p.factor = static_cast<double>(*s.max_pos) / static_cast<double>(*s.original);
    s.notes.push_back(
        "yarn: factor absent, max_position_embeddings / "
        "original_max_position_embeddings = " +
        hf_format(p.factor) + " used");
  } else {
    s.r.missing(b.field("factor"), "required for rope_type yarn");
  }
  if (b.get("beta_fast") != nullptr) p.beta_fast = s.block_number("beta_fast", "beta_fast");
  if (b.get("beta_slow") != nullptr) p.beta_slow = s.block_number("beta_slow", "beta_slow");
  if (b.get("mscale") != nullptr) p.mscale = s.block_number("mscale", "mscale", true);
  if (b.get("mscale_all_dim") != nullptr)
    p.mscale_all_dim = s.block_number("mscale_all_dim", "mscale_all_dim", true);
  if (b.get("attention_factor") != nullptr)
    p.attention_factor = s.block_number("attention_factor", "attention_factor");
  if (const hf_json* v = b.get("truncate")) p.truncate = s.r.boolean(*v, b.field("truncate"));
  s.original = p.original_max_position_embeddings;
  return scaling::Yarn(p);
}

inline AnyPolicy hf_build_llama3(HfLoad& s) {
  const double factor = s.required_number("factor");
  const double low = s.required_number("low_freq_factor");
  const double high = s.required_number("high_freq_factor");
  if (!s.original)
    s.r.missing(s.b.field("original_max_position_embeddings"), "required for rope_type llama3");
  return scaling::Llama3(factor, low, high, *s.original, s.base);
}

// short_factor / long_factor: one positive number per rotary pair.
inline std::vector<double> hf_factor_list(HfLoad& s, const char* name) {
  const hf_json& value = s.required(name);
  const std::int64_t pairs = s.rotary_dim / 2;
  std::vector<double> list = s.r.positive_list(value, s.b.field(name));
  if (static_cast<std::int64_t>(list.size()) != pairs)
    s.r.fail(s.b.field(name), &value,
             "has " + std::to_string(list.size()) +
                 " entries; must have rotary_dim / 2 = " + std::to_string(pairs) +
                 " (one per rotary pair; rotary_dim = " + std::to_string(s.rotary_dim) + ")");
  s.from(name, s.b.field(name), &value);
  return list;
}

inline AnyPolicy hf_build_longrope(HfLoad& s) {
  scaling::LongRope::Params p;
  p.short_factor = hf_factor_list(s, "short_factor");
  p.long_factor = hf_factor_list(s, "long_factor");
  if (!s.original)
    s.r.missing(s.top("original_max_position_embeddings"), "required for rope_type longrope");
  p.original_max_position_embeddings = *s.original;
  p.max_position_embeddings = s.max_pos.value_or(0);
  p.base = s.base;
  if (s.b.get("factor") != nullptr) p.factor = s.block_number("factor", "factor");
  if (s.b.get("attention_factor") != nullptr)
    p.attention_factor = s.block_number("attention_factor", "attention_factor");
  if (!p.factor && !p.attention_factor && !s.max_pos)
    s.r.missing(s.top("max_position_embeddings"),
                "needed for the longrope attention factor when factor is absent");
  return scaling::LongRope(p);
}

// transformers' "proportional" (Gemma 4's full-attention layers,
// _compute_proportional_rope_parameters in modeling_rope_utils.py): the
// block's rope_theta, partial_rotary_factor (default 1) and factor (default
// 1) over the whole head, head_dim being global_head_dim for Gemma 4's full
// attention (the layer reader picks the width).
inline AnyPolicy hf_build_proportional(HfLoad& s) {
  const double factor = s.b.get("factor") != nullptr ? s.block_number("factor", "factor") : 1.0;
  return scaling::Proportional(s.partial, s.base, factor);
}

// The table. transformers' names are the rows; legacy and vLLM names are
// aliases: "su" (Phi-3's first configs), "mrope" (Qwen2-VL before
// transformers rewrote it to default + mrope_section), "deepseek_yarn"
// (vLLM's internal name).
inline constexpr HfRopeType hf_rope_types[] = {
    {"default", "mrope", "", hf_build_default, HfRotaryWidth::partial},
    {"linear", "", "factor", hf_build_linear, HfRotaryWidth::partial},
    {"dynamic", "", "factor alpha", hf_build_dynamic, HfRotaryWidth::partial},
    {"yarn", "deepseek_yarn",
     "factor attention_factor beta_fast beta_slow mscale mscale_all_dim truncate", hf_build_yarn,
     HfRotaryWidth::partial},
    {"llama3", "", "factor low_freq_factor high_freq_factor", hf_build_llama3,
     HfRotaryWidth::partial},
    {"longrope", "su", "short_factor long_factor factor attention_factor", hf_build_longrope,
     HfRotaryWidth::partial},
    {"proportional", "", "factor", hf_build_proportional, HfRotaryWidth::whole_head},
};

// The row named `name` (or aliased by it), or nullptr.
inline const HfRopeType* hf_find_rope_type(const std::string& name) {
  for (const HfRopeType& type : hf_rope_types)
    if (name == type.name || hf_word_in(type.aliases, name)) return &type;
  return nullptr;
}

// "default, linear, ..., and the legacy su, mrope, deepseek_yarn".
inline std::string hf_rope_type_names() {
  std::string names, aliases;
  for (const HfRopeType& type : hf_rope_types) {
    names += (names.empty() ? "" : ", ") + std::string(type.name);
    const std::string a = type.aliases;
    std::size_t begin = 0;
    while (begin < a.size()) {
      std::size_t end = a.find(' ', begin);
      if (end == std::string::npos) end = a.size();
      aliases += (aliases.empty() ? "" : ", ") + a.substr(begin, end - begin);
      begin = end + 1;
    }
  }
  return aliases.empty() ? names : names + ", and the legacy " + aliases;
}

// Whether the row reads block key `key`: keys it does not read are listed
// in notes (transformers warns about them and ignores them too).
inline bool hf_block_key_used(const HfRopeType& type, const std::string& key) {
  return hf_word_in(hf_common_block_keys, key) || hf_word_in(type.keys, key);
}

// Whether any row reads `key` (a block that sets one must name its type).
inline bool hf_scaling_key(const std::string& key) {
  if (hf_word_in(hf_common_block_keys, key)) return false;
  for (const HfRopeType& type : hf_rope_types)
    if (hf_word_in(type.keys, key)) return true;
  return false;
}

// Policies M-RoPE wraps: those P with Mrope<P> in AnyPolicy.
template <class P>
constexpr bool hf_mrope_wraps = is_any_policy_alternative<scaling::Mrope<P>, AnyPolicy>::value;

template <class Variant>
struct hf_mrope_inner_names;
template <class... Policies>
struct hf_mrope_inner_names<std::variant<Policies...>> {
  // "default or yarn": the inner policies' names.
  static std::string get() {
    std::vector<std::string> names;
    (
        [&] {
          if constexpr (hf_mrope_wraps<Policies>) names.push_back(Policies::name);
        }(),
        ...);
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i)
      out += (i == 0 ? "" : (i + 1 == names.size() ? " or " : ", ")) + names[i];
    return out;
  }
};

// `inner` split into position axes by mrope_section, when the block gives one.
inline AnyPolicy hf_wrap_mrope(HfLoad& s, AnyPolicy inner,
                               const std::optional<scaling::Mrope<>::sections_type>& sections,
                               scaling::MropeLayout layout) {
  if (!sections) return inner;
  return std::visit(
      [&](auto&& policy) -> AnyPolicy {
        using P = std::decay_t<decltype(policy)>;
        if constexpr (hf_mrope_wraps<P>) {
          return scaling::Mrope<P>(*sections, std::move(policy), layout);
        } else {
          s.r.fail(s.b.field("mrope_section"), s.b.get("mrope_section"),
                   "M-RoPE is supported with rope_type " + hf_mrope_inner_names<AnyPolicy>::get() +
                       ", not " + s.rope_type);
        }
      },
      std::move(inner));
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_HF_ROPE_TYPES_HPP
