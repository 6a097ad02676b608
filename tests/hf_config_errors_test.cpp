// SPDX-License-Identifier: Apache-2.0
// Bad configs: every kind raises HfConfigError naming the file and the
// field (and the JSON value, for a value that is wrong).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <ropekit/hf_config.hpp>

#include "hf_config_util.hpp"

namespace {

using namespace hf_test;

TEST(HfConfigErrors, IllTypedFieldExactMessage) {
  json j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", "4"}};
  try {
    from(j);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "ropekit: config.json: rope_scaling.factor = \"4\": must be a number");
  }
}

TEST(HfConfigErrors, IllTypedFields) {
  json j = llama_like();
  j["rope_theta"] = "1e6";
  expect_json_error(j, "rope_theta", "must be a number");
  j = llama_like();
  j["head_dim"] = 128.5;
  expect_json_error(j, "head_dim", "must be an integer");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"truncate", "false"}};
  expect_json_error(j, "rope_scaling.truncate", "true or false");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", 3}};
  expect_json_error(j, "rope_scaling.rope_type", "must be a string");
  j = llama_like();
  j["rope_scaling"] = "yarn";
  expect_json_error(j, "rope_scaling", "must be an object");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "default"}, {"mrope_section", "16,24,24"}};
  expect_json_error(j, "rope_scaling.mrope_section", "list");
  expect_json_error(json::array({1, 2}), "(root)", "JSON object");
}

TEST(HfConfigErrors, NullIsNotADefault) {
  json j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", nullptr}};
  expect_json_error(j, "rope_scaling.factor", "must be a number");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"beta_fast", nullptr}};
  expect_json_error(j, "rope_scaling.beta_fast", "must be a number");
  j = llama_like();
  j["rope_theta"] = nullptr;
  expect_json_error(j, "rope_theta", "must be a number");
  j = llama_like();
  j["original_max_position_embeddings"] = nullptr;
  expect_json_error(j, "original_max_position_embeddings", "must be an integer");
}

TEST(HfConfigErrors, MissingFields) {
  json j = read_json(data("llama-3.1-8b.json"));
  j["rope_scaling"].erase("low_freq_factor");
  expect_json_error(j, "rope_scaling.low_freq_factor", "missing");
  j = read_json(data("phi-3-mini-128k-instruct.json"));
  j["rope_scaling"].erase("long_factor");
  expect_json_error(j, "rope_scaling.long_factor", "missing");
  j = read_json(data("phi-3-mini-128k-instruct.json"));
  j.erase("original_max_position_embeddings");
  expect_json_error(j, "original_max_position_embeddings", "missing");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"}};
  expect_json_error(j, "rope_scaling.factor", "missing");
  j = llama_like();
  j.erase("max_position_embeddings");
  j["rope_scaling"] = {{"rope_type", "yarn"}};
  expect_json_error(j, "rope_scaling.original_max_position_embeddings", "missing");
  j = llama_like();
  j["rope_scaling"] = {{"factor", 4.0}};
  expect_json_error(j, "rope_scaling.rope_type", "names no rope_type");
  j = llama_like();
  j.erase("num_attention_heads");
  expect_json_error(j, "num_attention_heads", "missing");
  j = llama_like();
  j["rope_scaling"] = {{"type", "mrope"}};
  expect_json_error(j, "rope_scaling.mrope_section", "missing");
}

TEST(HfConfigErrors, UnknownOrUnsupported) {
  json j = llama_like();
  j["rope_scaling"] = {{"rope_type", "ntk"}, {"factor", 2.0}};
  expect_json_error(j, "rope_scaling.rope_type", "unknown rope type");
  j["rope_scaling"] = {{"type", "Linear"}, {"factor", 2.0}};
  expect_json_error(j, "rope_scaling.type", "unknown rope type");
  j = read_json(data("phi-3-mini-128k-instruct.json"));
  j["rope_scaling"]["long_mscale"] = 1.19;
  expect_json_error(j, "rope_scaling.long_mscale", "not supported");
  j = llama_like();
  j["rope_parameters"] = {{"full_attention", {{"rope_type", "default"}}},
                          {"sliding_attention", {{"rope_type", "default"}}}};
  expect_json_error(j, "rope_parameters", "per-layer-type");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "llama3"},
                       {"factor", 8.0},
                       {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192},
                       {"mrope_section", {16, 24, 24}}};
  expect_json_error(j, "rope_scaling.mrope_section", "default or yarn");
}

TEST(HfConfigErrors, ListsOfWrongLength) {
  json j = read_json(data("phi-3-mini-128k-instruct.json"));
  j["rope_scaling"]["long_factor"].erase(47);
  expect_json_error(j, "rope_scaling.long_factor", "has 47 entries; must have rotary_dim / 2 = 48");
  j = read_json(data("qwen2-vl-7b-instruct.json"));
  j["rope_scaling"]["mrope_section"] = {16, 24};
  expect_json_error(j, "rope_scaling.mrope_section", "must have 3");
  j["rope_scaling"]["mrope_section"] = {16, 24, 20};
  expect_json_error(j, "rope_scaling.mrope_section", "must sum to rotary_dim / 2 = 64");
  j = read_json(data("phi-3-mini-128k-instruct.json"));
  j["rope_scaling"]["short_factor"][3] = "1.3";
  expect_json_error(j, "rope_scaling.short_factor[3]", "must be a number");
}

TEST(HfConfigErrors, NonFiniteAndOutOfRange) {
  json j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"},
                       {"factor", std::numeric_limits<double>::quiet_NaN()}};
  expect_json_error(j, "rope_scaling.factor", "= nan: must be finite");
  j = llama_like();
  j["rope_theta"] = std::numeric_limits<double>::infinity();
  expect_json_error(j, "rope_theta", "must be finite");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", -2.0}};
  expect_json_error(j, "rope_scaling.factor", "must be positive");
  j = llama_like();
  j["partial_rotary_factor"] = 1.5;
  expect_json_error(j, "partial_rotary_factor", "(0, 1]");
  j = llama_like();
  j["head_dim"] = 126;
  j["partial_rotary_factor"] = 0.25;  // int(126 * 0.25) = 31: odd
  expect_json_error(j, "partial_rotary_factor", "must be even");
  j = llama_like();
  j["max_position_embeddings"] = 0;
  expect_json_error(j, "max_position_embeddings", "must be positive");
  // A policy constructor's own check, re-raised naming the field the
  // config set (with its JSON value).
  j = llama_like();
  j["rope_scaling"] = {
      {"rope_type", "yarn"}, {"factor", 4.0}, {"beta_fast", 1.0}, {"beta_slow", 32.0}};
  expect_json_error(j, "rope_scaling.beta_fast", "rope_scaling.beta_fast = 1: must not be less");
  // Frequencies out of range name the field that produced them.
  j = llama_like();
  j["rope_theta"] = 5e-324;
  expect_json_error(j, "rope_theta", "gives inv_freq[");
  // A parameter the config did not set (yarn's L0 taken from
  // max_position_embeddings) is reported against the block.
  j = llama_like();
  j["max_position_embeddings"] = 2;
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  expect_json_error(j, "rope_scaling", "original_max_position_embeddings = 2");
}

TEST(HfConfigErrors, ConflictingDuplicates) {
  json j = llama_like();
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 5e5}};
  expect_json_error(j, "rope_parameters.rope_theta", "disagrees with rope_theta");
  j = read_json(data("llama-3.1-8b.json"));
  j["original_max_position_embeddings"] = 4096;
  expect_json_error(j, "rope_scaling.original_max_position_embeddings", "disagrees");
  j = read_json(data("gpt-neox-20b.json"));
  j["partial_rotary_factor"] = 0.5;
  expect_json_error(j, "rotary_pct", "disagrees");
  j = llama_like();
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}};
  j["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 4.0}};
  expect_json_error(j, "rope_parameters", "give one rope block");
}

TEST(HfConfigErrors, FileProblems) {
  const std::string missing = ::testing::TempDir() + "/ropekit_no_such_dir/config.json";
  expect_error([&] { load_hf_config(missing); }, missing, "", "cannot open");
  const std::string broken = write_temp("broken.json", "{\"rope_theta\": 1e4,");
  expect_error([&] { load_hf_config(broken); }, broken, "", "not valid JSON");
  const std::string empty = write_temp("empty.json", "");
  expect_error([&] { load_hf_config(empty); }, empty, "", "not valid JSON");
  const std::string huge = write_temp("huge.json", "{\"rope_theta\": 1e999}");
  expect_error([&] { load_hf_config(huge); }, huge, "", "not valid JSON");
  const std::string dir = ::testing::TempDir();
  expect_error([&] { load_hf_config(dir); }, dir, "", "directory");
  // A readable file with a bad field names the file path.
  const std::string bad = write_temp("bad.json", R"({"hidden_size": 64, "num_attention_heads": 1,
      "rope_scaling": {"rope_type": "linear", "factor": "4"}})");
  expect_error([&] { load_hf_config(bad); }, bad, "rope_scaling.factor", "\"4\": must be a number");
}

}  // namespace
