// SPDX-License-Identifier: Apache-2.0
// Config loader fuzzer: the bytes as JSON text, then hf_config_from_json,
// then a few rotations with the AnyRope it built. The loader may reject a
// config only with std::invalid_argument (HfConfigError is one); anything
// else escaping (a JSON type or range error, std::length_error, ...) is a
// finding. A config it accepts must rotate: every call below is valid, must
// not throw, and must give finite results for finite input, on every kernel
// path, at positions 0 through 2^31-1.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <ropekit/hf_config.hpp>
#include <ropekit/ropekit.hpp>

#include "../simd_bounds.hpp"
#include "fuzz_input.hpp"

namespace {

using namespace ropekit;

[[noreturn]] void report(const HfRopeConfig& cfg, const std::string& what) {
  std::fprintf(stderr, "ropekit config fuzzer: %s\n  config: rope_type=%s policy=%s head_dim=%lld rotary_dim=%lld layout=%s\n",
               what.c_str(), cfg.rope_type.c_str(), cfg.rope.policy_name(),
               static_cast<long long>(cfg.rope.dims().head_dim()),
               static_cast<long long>(cfg.rope.dims().rotary_dim()), layout_name(cfg.rope.layout()));
  std::abort();
}

template <class T>
void expect_finite(const HfRopeConfig& cfg, const std::vector<T>& x, const char* what, Isa isa) {
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(static_cast<float>(x[i])))
      report(cfg, std::string(what) + " on " + isa_name(isa) + ": element " + std::to_string(i) +
                      " is not finite");
}

// Rotations of q (3 heads) and k (1 head) over 3 tokens on `isa`: a prefill
// from 0, decode-style explicit ids up to 2^31-1 (crossing any trained
// length, so length-dependent policies switch tables up and back down), and
// the inverse.
template <class T>
void rotate_some(HfRopeConfig& cfg, Isa isa, std::uint64_t seed) {
  const std::int64_t head_dim = cfg.rope.dims().head_dim();
  constexpr std::int64_t tokens = 3;
  ropekit_fuzz::SplitMix rng(seed);
  std::vector<T> q(static_cast<std::size_t>(tokens * 3 * head_dim));
  std::vector<T> k(static_cast<std::size_t>(tokens * head_dim));
  for (T& x : q) x = T(static_cast<float>(4.0 * rng.unit() - 2.0));
  for (T& x : k) x = T(static_cast<float>(4.0 * rng.unit() - 2.0));
  const auto qv = token_major_view(q.data(), tokens, 3, head_dim);
  const auto kv = token_major_view(k.data(), tokens, 1, head_dim);
  const std::int64_t far[tokens] = {0, max_position, 123456789};
  const std::int32_t near[tokens] = {5, 1, 0};
  ropekit_test::ScopedIsa forced(isa);
  try {
    cfg.rope.apply(qv, kv, Positions::starting_at(0));
    expect_finite(cfg, q, "apply from position 0", isa);
    cfg.rope.apply(qv, kv, Positions(far, tokens));
    expect_finite(cfg, q, "apply at ids up to 2^31-1", isa);
    expect_finite(cfg, k, "apply at ids up to 2^31-1 (k)", isa);
    cfg.rope.apply_k(kv, Positions(near, tokens));
    expect_finite(cfg, k, "apply_k at small ids", isa);
    cfg.rope.apply_inverse(qv, kv, Positions::starting_at(max_position - tokens + 1));
    expect_finite(cfg, q, "apply_inverse up to 2^31-1", isa);
  } catch (const std::invalid_argument& e) {
    report(cfg, std::string("a valid call on an accepted config threw: ") + e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(data, data + size);
  } catch (const nlohmann::json::exception&) {
    return 0;  // not JSON: load_hf_config reports that, hf_config_from_json never sees it
  }
  std::optional<HfRopeConfig> cfg;
  try {
    cfg.emplace(hf_config_from_json(config, "fuzz.json"));
  } catch (const std::invalid_argument&) {
    return 0;
  }
  // Reporting what was loaded must work too.
  for (std::int64_t length : {std::int64_t{1}, std::int64_t{4096}, max_position + 1}) {
    const FrequencyTable table = cfg->rope.table_for_length(length);
    for (double w : table.inv_freq())
      if (!std::isfinite(w)) report(*cfg, "table_for_length gives a non-finite inverse frequency");
  }
  (void)cfg->scaling_parameters.dump();
  const std::uint64_t seed = std::hash<std::string>()(std::string(data, data + size));
  for (Isa isa : available_isas()) {
    rotate_some<float>(*cfg, isa, seed);
    rotate_some<Eigen::bfloat16>(*cfg, isa, seed);
  }
  return 0;
}
