// SPDX-License-Identifier: Apache-2.0
// ropekit-inspect CONFIG.json [--layers] [--seq-len N] [--target-len L] [--json]
//
// Prints the RoPE a Hugging Face config.json describes, as ropekit builds it:
// variant and parameters, layout, widths, every pair's inverse frequency and
// wavelength, the attention factor, Liu et al.'s critical dimension and
// extrapolation bound for the model's base and pretraining length, and with
// --target-len what each method needs to reach a target context. --seq-len
// evaluates length-dependent policies (dynamic NTK, LongRoPE) at N tokens.
// --json prints the same as one JSON object (doubles round-trip exactly).
// --layers prints the model layer by layer (one line per layer: type,
// widths, layout, rope type, base, factor; or "no RoPE"), for models whose
// layers use different rotations or none; with --json an object whose
// "layers" array holds one entry per layer (null for a layer without RoPE).
// Errors: one line on stderr, exit status 2.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <ropekit/hf_config.hpp>
#include <ropekit/ropekit.hpp>
#include <ropekit/scaling_law.hpp>

namespace {

using namespace ropekit;
using ordered_json = nlohmann::ordered_json;

constexpr const char* kUsage =
    "usage: ropekit-inspect CONFIG.json [--layers] [--seq-len N] [--target-len L] [--json]";
constexpr double kTwoPi = 6.283185307179586476925286766559;
// Men et al.'s bound scans every position up to L for each candidate base;
// past this length the scan takes minutes, so it is skipped.
constexpr std::int64_t kMenScanLimit = std::int64_t{1} << 22;

struct Options {
  std::string config;
  std::optional<std::int64_t> seq_len;
  std::optional<std::int64_t> target_len;
  bool json = false;
  bool layers = false;
  bool help = false;
};

// Thrown for bad command lines; main prints it and exits 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::int64_t parse_length(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || text[0] == '+' || text[0] == '-' || value <= 0 ||
      value > max_position + 1)
    throw UsageError(flag + " '" + text + "': must be a whole number of tokens in [1, 2^31]");
  return value;
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value_of = [&](const std::string& flag) -> std::optional<std::string> {
      if (arg == flag) {
        if (i + 1 >= argc) throw UsageError(flag + ": missing value");
        return std::string(argv[++i]);
      }
      if (arg.rfind(flag + "=", 0) == 0) return arg.substr(flag.size() + 1);
      return std::nullopt;
    };
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--layers") {
      options.layers = true;
    } else if (arg == "-h" || arg == "--help") {
      options.help = true;
    } else if (auto v = value_of("--seq-len")) {
      options.seq_len = parse_length("--seq-len", *v);
    } else if (auto t = value_of("--target-len")) {
      options.target_len = parse_length("--target-len", *t);
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw UsageError("unknown option '" + arg + "'");
    } else if (!options.config.empty()) {
      throw UsageError("more than one config given ('" + options.config + "', '" + arg + "')");
    } else {
      options.config = arg;
    }
  }
  if (options.config.empty() && !options.help) throw UsageError("no CONFIG.json given");
  return options;
}

// JSON for a double that may be infinite (JSON has no infinity: null).
ordered_json number_or_null(double x) {
  return std::isfinite(x) ? ordered_json(x) : ordered_json();
}

// Policy parameters as ropekit resolved them (not just as written).
ordered_json policy_details(const AnyRope& rope, const std::optional<std::int64_t>& seq_len) {
  ordered_json d = ordered_json::object();
  const RotaryDims& dims = rope.dims();
  auto yarn = [&](const scaling::Yarn& y) {
    const auto& p = y.params();
    d["factor"] = p.factor;
    d["original_max_position_embeddings"] = p.original_max_position_embeddings;
    d["beta_fast"] = p.beta_fast;
    d["beta_slow"] = p.beta_slow;
    d["truncate"] = p.truncate;
    d["mscale"] = p.mscale;
    d["mscale_all_dim"] = p.mscale_all_dim;
    if (p.attention_factor) d["explicit_attention_factor"] = *p.attention_factor;
    const auto range = y.correction_range(dims);
    d["correction_range"] = {static_cast<double>(range.low), static_cast<double>(range.high)};
    d["softmax_scale_multiplier"] = y.softmax_scale_multiplier();
  };
  if (const auto* y = rope.policy_if<scaling::Yarn>()) {
    yarn(*y);
  } else if (const auto* my = rope.policy_if<scaling::Mrope<scaling::Yarn>>()) {
    d["mrope_section"] = my->mrope_section();
    d["mrope_layout"] =
        my->layout() == scaling::MropeLayout::interleaved ? "interleaved" : "sectioned";
    yarn(my->inner());
  } else if (const auto* m = rope.policy_if<scaling::Mrope<>>()) {
    d["mrope_section"] = m->mrope_section();
    d["mrope_layout"] =
        m->layout() == scaling::MropeLayout::interleaved ? "interleaved" : "sectioned";
  } else if (const auto* l = rope.policy_if<scaling::Linear>()) {
    d["factor"] = l->factor();
  } else if (const auto* n = rope.policy_if<scaling::NtkAware>()) {
    d["factor"] = n->factor();
    d["scaled_base"] = static_cast<double>(n->scaled_base(dims));
  } else if (const auto* dn = rope.policy_if<scaling::DynamicNtk>()) {
    d["factor"] = dn->factor();
    d["max_position_embeddings"] = dn->max_position_embeddings();
    const std::int64_t at = seq_len.value_or(dn->max_position_embeddings());
    d["seq_len"] = at;
    d["base_at_seq_len"] = static_cast<double>(dn->scaled_base(dims, at));
  } else if (const auto* l3 = rope.policy_if<scaling::Llama3>()) {
    d["factor"] = l3->factor();
    d["low_freq_factor"] = l3->low_freq_factor();
    d["high_freq_factor"] = l3->high_freq_factor();
    d["original_max_position_embeddings"] = l3->original_max_position_embeddings();
    d["unchanged_below_wavelength"] = static_cast<double>(l3->high_freq_wavelen());
    d["divided_above_wavelength"] = static_cast<double>(l3->low_freq_wavelen());
  } else if (const auto* p = rope.policy_if<scaling::Proportional>()) {
    d["factor"] = p->factor();
    d["partial_rotary_factor"] = p->partial_rotary_factor();
    d["rotated_pairs"] = p->rotated_pairs(dims);
  } else if (const auto* lr = rope.policy_if<scaling::LongRope>()) {
    d["factor"] = lr->factor();
    d["original_max_position_embeddings"] = lr->original_max_position_embeddings();
    d["selection"] = "per_call (long factors iff seq_len > original_max_position_embeddings)";
    const std::int64_t at = seq_len.value_or(1);
    const auto state = lr->next_state(lr->initial_state(), at);
    d["seq_len"] = at;
    d["factors_at_seq_len"] =
        state == scaling::LongRope::Factors::long_factors ? "long_factor" : "short_factor";
  }
  return d;
}

// One rotation as the config describes it and ropekit builds it.
ordered_json describe(const HfRopeDescription& c, const AnyRope& rope, const std::string& source,
                      const std::string& model_type, const Options& options) {
  ordered_json out;
  out["source"] = source;
  out["model_type"] = model_type;
  if (!c.layer_type.empty()) out["layer_type"] = c.layer_type;
  out["rope_type"] = c.rope_type;
  out["rope_type_as_written"] = c.rope_type_as_written;
  out["policy"] = rope.policy_name();
  out["rope_block_key"] = c.rope_block_key;
  out["parameters"] = ordered_json::parse(
      c.scaling_parameters.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  out["policy_details"] = policy_details(rope, options.seq_len);
  out["base"] = rope.base();
  out["layout"] = layout_name(rope.layout());
  out["head_dim"] = rope.dims().head_dim();
  out["rotary_dim"] = rope.dims().rotary_dim();
  out["partial_rotary_factor"] = c.partial_rotary_factor;
  out["max_position_embeddings"] =
      c.max_position_embeddings ? ordered_json(*c.max_position_embeddings) : ordered_json();
  out["original_max_position_embeddings"] = c.original_max_position_embeddings
                                                ? ordered_json(*c.original_max_position_embeddings)
                                                : ordered_json();
  out["train_length"] = c.train_length();

  const FrequencyTable table =
      options.seq_len ? rope.table_for_length(*options.seq_len) : rope.table();
  out["seq_len"] = options.seq_len ? ordered_json(*options.seq_len) : ordered_json();
  out["attention_factor"] = table.attention_factor();
  out["inv_freq"] = table.inv_freq();
  ordered_json wavelength = ordered_json::array();
  for (double w : table.inv_freq())
    wavelength.push_back(number_or_null(w > 0 ? kTwoPi / w : INFINITY));
  out["wavelength"] = wavelength;

  // Liu et al. 2023 for the model's base and pretraining length.
  RopePretraining model;
  model.rotary_dim = rope.dims().rotary_dim();
  model.train_length = static_cast<double>(c.train_length());
  model.base = rope.base();
  ordered_json law = ordered_json::object();
  try {
    out["critical_dimension"] = critical_dimension(model);
    out["extrapolation_bound"] = number_or_null(extrapolation_limit(model, model.base));
    law["extrapolation_bound_infinite"] = std::isinf(extrapolation_limit(model, model.base));
    law["train_length"] = model.train_length;
    law["regime"] = base_regime_name(classify_base(model.base, model.train_length));
  } catch (const std::invalid_argument& e) {
    out["critical_dimension"] = nullptr;
    out["extrapolation_bound"] = nullptr;
    law["unavailable"] = e.what();
  }
  out["scaling_law"] = law;

  if (options.target_len) {
    const auto target = static_cast<double>(*options.target_len);
    ordered_json t;
    t["target_len"] = *options.target_len;
    try {
      t["linear_factor"] = target / model.train_length;
      const double liu = base_for_context(model, target);
      t["liu_base"] = number_or_null(liu);
      t["liu_base_discrete"] = number_or_null(base_for_context(model, target, BoundForm::discrete));
      t["ntk_factor_for_liu_base"] =
          std::isfinite(liu) ? ordered_json(ntk_factor_for_base(model, liu)) : ordered_json();
    } catch (const std::invalid_argument& e) {
      t["liu_unavailable"] = e.what();
    }
    if (*options.target_len <= kMenScanLimit) {
      const auto men = min_base_for_context(*options.target_len, model.rotary_dim);
      t["men_min_base"] = men ? ordered_json(*men) : ordered_json();
      t["current_frequencies_meet_men_bound"] =
          decay_bound_holds(table.inv_freq(), *options.target_len);
    } else {
      t["men_skipped"] = "target_len above " + std::to_string(kMenScanLimit) +
                         ": the decay scan would take minutes";
    }
    out["target"] = t;
  }
  out["notes"] = c.notes;
  return out;
}

// The model layer by layer: each distinct rotation described as above, and
// one entry per layer (null for a layer without RoPE) with what it applies.
ordered_json describe_layers(const HfModelRope& m, const Options& options) {
  ordered_json out;
  out["source"] = m.source;
  out["model_type"] = m.model_type;
  out["num_layers"] = m.rope.num_layers();
  out["layer_types"] = m.layer_types;
  ordered_json ropes = ordered_json::array();
  for (std::size_t k = 0; k < m.rope.ropes().size(); ++k)
    ropes.push_back(
        describe(m.descriptions[k], m.rope.ropes()[k], m.source, m.model_type, options));
  ordered_json layers = ordered_json::array();
  for (std::int64_t i = 0; i < m.rope.num_layers(); ++i) {
    const std::int64_t k = m.rope.rope_index(i);
    if (k < 0) {
      layers.push_back(nullptr);
      continue;
    }
    const ordered_json& r = ropes[static_cast<std::size_t>(k)];
    const std::optional<double> factor = m.rope.ropes()[static_cast<std::size_t>(k)].factor();
    ordered_json layer;
    layer["layer"] = i;
    layer["layer_type"] = m.layer_types[static_cast<std::size_t>(i)];
    layer["rope"] = k;
    for (const char* key : {"rope_type", "policy", "head_dim", "rotary_dim", "layout", "base"})
      layer[key] = r[key];
    layer["factor"] = factor ? ordered_json(*factor) : ordered_json();
    for (const char* key : {"attention_factor", "inv_freq", "wavelength"}) layer[key] = r[key];
    layers.push_back(layer);
  }
  out["ropes"] = ropes;
  out["layers"] = layers;
  out["notes"] = m.notes;
  return out;
}

std::string num(const ordered_json& v) {
  if (v.is_null()) return "n/a";
  if (v.is_number_float()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v.get<double>());
    return buf;
  }
  return v.dump();
}

void print_text(const ordered_json& d) {
  auto line = [](const char* key, const std::string& value) {
    std::printf("%-34s %s\n", key, value.c_str());
  };
  line("config", d["source"].get<std::string>());
  line("model_type",
       d["model_type"].get<std::string>().empty() ? "(none)" : d["model_type"].get<std::string>());
  std::string type = d["rope_type"].get<std::string>();
  if (!d["rope_block_key"].get<std::string>().empty())
    type += "  (" + d["rope_block_key"].get<std::string>() + ": " + d["parameters"].dump() + ")";
  if (type.size() > 200) type = type.substr(0, 200) + "...";
  line("rope_type", type);
  line("policy", d["policy"].get<std::string>());
  for (const auto& item : d["policy_details"].items())
    line(("  " + item.key()).c_str(),
         item.value().is_string() ? item.value().get<std::string>() : num(item.value()));
  line("base (rope_theta)", num(d["base"]));
  line("layout", d["layout"].get<std::string>());
  line("head_dim", num(d["head_dim"]));
  line("rotary_dim",
       num(d["rotary_dim"]) + " (" + std::to_string(d["inv_freq"].size()) + " pairs)");
  line("max_position_embeddings", num(d["max_position_embeddings"]));
  line("original_max_position_embeddings", num(d["original_max_position_embeddings"]));
  line("attention_factor", num(d["attention_factor"]));
  const auto& law = d["scaling_law"];
  if (law.contains("unavailable")) {
    line("critical_dimension", "n/a (" + law["unavailable"].get<std::string>() + ")");
  } else {
    const std::int64_t cd = d["critical_dimension"].get<std::int64_t>();
    line("critical_dimension",
         std::to_string(cd) + " (Liu et al.: pairs 0.." + std::to_string(cd / 2 - 1) +
             " complete a period in T_train = " + num(law["train_length"]) + ")");
    line("extrapolation_bound",
         law["extrapolation_bound_infinite"].get<bool>()
             ? std::string("infinite (every pair completes a period in T_train)")
             : num(d["extrapolation_bound"]) + " tokens (2pi * base^(d_extra/d))");
    line("base regime", law["regime"].get<std::string>());
  }
  if (d.contains("target")) {
    const auto& t = d["target"];
    std::printf("to reach %s tokens:\n", num(t["target_len"]).c_str());
    line("  linear (PI) factor L/T_train", num(t["linear_factor"]));
    if (t.contains("liu_unavailable")) {
      line("  Liu et al. base", "n/a (" + t["liu_unavailable"].get<std::string>() + ")");
    } else {
      line("  Liu et al. base (continuous)", num(t["liu_base"]));
      line("  Liu et al. base (discrete)", num(t["liu_base_discrete"]));
      line("  NTK factor for that base", num(t["ntk_factor_for_liu_base"]));
    }
    if (t.contains("men_skipped")) {
      line("  Men et al. min base", "skipped (" + t["men_skipped"].get<std::string>() + ")");
    } else {
      line("  Men et al. min base",
           t["men_min_base"].is_null() ? "none up to 1e12" : num(t["men_min_base"]));
      line("  inv_freq above meet Men bound",
           t["current_frequencies_meet_men_bound"].get<bool>() ? "yes" : "no");
    }
  }
  for (const auto& note : d["notes"]) std::printf("note: %s\n", note.get<std::string>().c_str());
  std::printf("inverse frequencies%s:\n",
              d["seq_len"].is_null() ? "" : (" at seq_len " + num(d["seq_len"])).c_str());
  std::printf("  %4s  %-24s  %s\n", "pair", "inv_freq", "wavelength 2pi/inv_freq");
  const auto& w = d["inv_freq"];
  const auto& wl = d["wavelength"];
  for (std::size_t j = 0; j < w.size(); ++j)
    std::printf("  %4zu  %-24s  %s\n", j, num(w[j]).c_str(),
                wl[j].is_null() ? "inf" : num(wl[j]).c_str());
}

// One line per layer, after each distinct rotation's summary.
void print_layers_text(const ordered_json& d) {
  std::printf("%-18s %s\n", "config", d["source"].get<std::string>().c_str());
  const std::string type = d["model_type"].get<std::string>();
  std::printf("%-18s %s\n", "model_type", type.empty() ? "(none)" : type.c_str());
  std::size_t without = 0;
  for (const auto& layer : d["layers"]) without += layer.is_null() ? 1 : 0;
  std::printf("%-18s %s (%zu distinct rope%s; %zu without RoPE)\n", "layers",
              num(d["num_layers"]).c_str(), d["ropes"].size(), d["ropes"].size() == 1 ? "" : "s",
              without);
  for (const auto& note : d["notes"]) std::printf("note: %s\n", note.get<std::string>().c_str());
  for (std::size_t k = 0; k < d["ropes"].size(); ++k) {
    const auto& r = d["ropes"][k];
    std::printf(
        "rope %zu%s: %s (policy %s), base %s, head_dim %s, rotary_dim %s, %s, "
        "attention_factor %s%s%s\n",
        k,
        r.contains("layer_type") ? (" [" + r["layer_type"].get<std::string>() + "]").c_str() : "",
        r["rope_type"].get<std::string>().c_str(), r["policy"].get<std::string>().c_str(),
        num(r["base"]).c_str(), num(r["head_dim"]).c_str(), num(r["rotary_dim"]).c_str(),
        r["layout"].get<std::string>().c_str(), num(r["attention_factor"]).c_str(),
        r["rope_block_key"].get<std::string>().empty() ? "" : ", from ",
        r["rope_block_key"].get<std::string>().c_str());
    for (const auto& note : r["notes"])
      std::printf("  note: %s\n", note.get<std::string>().c_str());
  }
  std::printf("%5s  %-18s %8s %10s  %-11s  %-12s %-24s %s\n", "layer", "type", "head_dim",
              "rotary_dim", "layout", "rope_type", "base", "factor");
  const auto& types = d["layer_types"];
  for (std::size_t i = 0; i < d["layers"].size(); ++i) {
    const auto& l = d["layers"][i];
    const std::string t = types[i].get<std::string>();
    if (l.is_null()) {
      std::printf("%5zu  %-18s no RoPE\n", i, t.c_str());
      continue;
    }
    std::printf("%5zu  %-18s %8s %10s  %-11s  %-12s %-24s %s\n", i, t.c_str(),
                num(l["head_dim"]).c_str(), num(l["rotary_dim"]).c_str(),
                l["layout"].get<std::string>().c_str(), l["rope_type"].get<std::string>().c_str(),
                num(l["base"]).c_str(), l["factor"].is_null() ? "-" : num(l["factor"]).c_str());
  }
}

[[noreturn]] void die(const std::string& message) {
  std::string one_line = message;
  for (char& ch : one_line)
    if (ch == '\n' || ch == '\r') ch = ' ';
  std::fflush(stdout);
  std::fprintf(stderr, "ropekit-inspect: %s\n", one_line.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse(argc, argv);
  } catch (const UsageError& e) {
    die(std::string(e.what()) + " (" + kUsage + ")");
  }
  if (options.help) {
    std::printf("%s\n", kUsage);
    return 0;
  }
  try {
    ordered_json d;
    if (options.layers) {
      d = describe_layers(load_hf_model_rope(options.config), options);
    } else {
      const HfRopeConfig c = load_hf_config(options.config);
      d = describe(c, c.rope, c.source, c.model_type, options);
    }
    if (options.json)
      std::printf("%s\n", d.dump(2, ' ', false, ordered_json::error_handler_t::replace).c_str());
    else if (options.layers)
      print_layers_text(d);
    else
      print_text(d);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    // A model whose layer types use different rotations: say how to see it.
    die(options.layers || what.find("load_hf_model_rope") == std::string::npos
            ? what
            : what + " (ropekit-inspect: run with --layers)");
  }
  return 0;
}
