// SPDX-License-Identifier: Apache-2.0
// Test helper for ropekit-inspect --json: re-reads its output and checks that
// every number survived the trip through text bit for bit (inv_freq,
// attention_factor, extrapolation_bound) and that the rest matches what the
// library computes for the same config.
// For --layers output it checks every layer's entry against the ModelRope
// the library loads (null exactly for the layers without RoPE).
//   inspect_roundtrip OUTPUT.json CONFIG.json [SEQ_LEN]
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>

#include <ropekit/hf_config.hpp>
#include <ropekit/ropekit.hpp>
#include <ropekit/scaling_law.hpp>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("mismatch: %s\n", what.c_str());
    ++failures;
  }
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// One --layers entry against the rotation the library gives that layer.
void check_layer(const nlohmann::json& entry, const ropekit::AnyRope& rope,
                 const ropekit::FrequencyTable& table, const std::string& what) {
  check(entry.at("policy") == rope.policy_name(), what + " policy");
  check(entry.at("head_dim") == rope.dims().head_dim(), what + " head_dim");
  check(entry.at("rotary_dim") == rope.dims().rotary_dim(), what + " rotary_dim");
  check(entry.at("layout") == ropekit::layout_name(rope.layout()), what + " layout");
  check(same_bits(entry.at("base").get<double>(), rope.base()), what + " base");
  check(same_bits(entry.at("attention_factor").get<double>(), table.attention_factor()),
        what + " attention_factor");
  const auto& inv_freq = entry.at("inv_freq");
  check(inv_freq.size() == table.inv_freq().size(), what + " inv_freq size");
  for (std::size_t j = 0; j < inv_freq.size() && j < table.inv_freq().size(); ++j)
    check(same_bits(inv_freq[j].get<double>(), table.inv_freq()[j]),
          what + " inv_freq[" + std::to_string(j) + "]");
}

void check_layers(const nlohmann::json& out, const std::string& config, long long seq_len) {
  const ropekit::HfModelRope model = ropekit::load_hf_model_rope(config);
  const auto& layers = out.at("layers");
  check(layers.size() == static_cast<std::size_t>(model.rope.num_layers()), "layers size");
  for (std::int64_t i = 0;
       i < model.rope.num_layers() && static_cast<std::size_t>(i) < layers.size(); ++i) {
    const auto& entry = layers[static_cast<std::size_t>(i)];
    const std::string what = "layer " + std::to_string(i);
    const ropekit::AnyRope* rope = model.rope.layer(i);
    check(entry.is_null() == (rope == nullptr), what + " RoPE or none");
    if (rope == nullptr || entry.is_null()) continue;
    check(entry.at("layer_type") == model.layer_types[static_cast<std::size_t>(i)],
          what + " layer_type");
    check(entry.at("rope") == model.rope.rope_index(i), what + " rope index");
    check(entry.at("rope_type") ==
              model.descriptions[static_cast<std::size_t>(model.rope.rope_index(i))].rope_type,
          what + " rope_type");
    check_layer(entry, *rope, seq_len > 0 ? rope->table_for_length(seq_len) : rope->table(), what);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: inspect_roundtrip OUTPUT.json CONFIG.json [SEQ_LEN]\n");
    return 2;
  }
  try {
    std::ifstream in(argv[1]);
    const nlohmann::json out = nlohmann::json::parse(in);
    if (out.contains("layers")) {
      check_layers(out, argv[2], argc == 4 ? std::stoll(argv[3]) : 0);
      if (failures == 0) std::printf("inspect --layers output round-trips\n");
      return failures == 0 ? 0 : 1;
    }
    const ropekit::HfRopeConfig config = ropekit::load_hf_config(argv[2]);
    const ropekit::FrequencyTable table =
        argc == 4 ? config.rope.table_for_length(std::stoll(argv[3])) : config.rope.table();

    check(out.at("rope_type") == config.rope_type, "rope_type");
    check(out.at("policy") == config.rope.policy_name(), "policy");
    check(out.at("head_dim") == config.head_dim(), "head_dim");
    check(out.at("rotary_dim") == config.rotary_dim(), "rotary_dim");
    check(out.at("layout") == ropekit::layout_name(config.layout()), "layout");
    check(same_bits(out.at("base").get<double>(), config.base()), "base");
    check(same_bits(out.at("attention_factor").get<double>(), table.attention_factor()),
          "attention_factor");
    const auto& inv_freq = out.at("inv_freq");
    check(inv_freq.size() == table.inv_freq().size(), "inv_freq size");
    for (std::size_t j = 0; j < inv_freq.size() && j < table.inv_freq().size(); ++j)
      check(same_bits(inv_freq[j].get<double>(), table.inv_freq()[j]),
            "inv_freq[" + std::to_string(j) + "]");

    ropekit::RopePretraining model;
    model.rotary_dim = config.rotary_dim();
    model.train_length = static_cast<double>(config.train_length());
    model.base = config.base();
    check(out.at("critical_dimension") == ropekit::critical_dimension(model), "critical_dimension");
    check(same_bits(out.at("extrapolation_bound").get<double>(),
                    ropekit::extrapolation_limit(model, config.base())),
          "extrapolation_bound");
  } catch (const std::exception& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
  if (failures == 0) std::printf("inspect output round-trips\n");
  return failures == 0 ? 0 : 1;
}
