// SPDX-License-Identifier: Apache-2.0
// The C API's models: a config.json read into per-layer ropes.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <ropekit/hf_config.hpp>

#include "c_api.hpp"

namespace ropekit_c {
namespace {

using json = nlohmann::json;

[[noreturn]] void config_error(const std::string& message) {
  throw Failure(RK_ERR_CONFIG, message);
}

json read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(std::filesystem::path(path), ec))
    config_error("ropekit: " + path + ": is a directory, not a config file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    config_error("ropekit: " + path +
                 ": cannot open: " + (error != 0 ? std::strerror(error) : "unknown error"));
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) config_error("ropekit: " + path + ": read error");
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    config_error("ropekit: " + path + ": not valid JSON: " + e.what());
  }
}

// The model's rotations layer by layer (ropekit::ModelRope).
void read_layers(rk_model& model, const json& config, const std::string& source) {
  ropekit::HfModelRope read = [&] {
    try {
      return ropekit::hf_model_rope_from_json(config, source);
    } catch (const ropekit::HfConfigError& e) {
      config_error(e.what());
    }
  }();
  model.model_type = read.model_type;
  for (const ropekit::AnyRope& rope : read.rope.ropes())
    model.ropes.push_back(std::make_unique<rk_rope>(rope, &model));
  for (std::int64_t layer = 0; layer < read.rope.num_layers(); ++layer)
    model.layer_rope.push_back(read.rope.rope_index(layer));
}

rk_status make_model(const json& config, const std::string& source, rk_model** out) {
  auto model = std::make_unique<rk_model>();
  read_layers(*model, config, source);
  *out = model.release();
  return RK_OK;
}

void require_model(const rk_model* model) {
  if (model == nullptr) invalid("model", "NULL", "must be a model from rk_model_load or rk_model_from_json");
}

}  // namespace
}  // namespace ropekit_c

extern "C" {

rk_status rk_model_load(const char* path, rk_model** out) {
  using namespace ropekit_c;
  return guarded(nullptr, [&] {
    if (path == nullptr) invalid("path", "NULL", "must name a config.json");
    if (out == nullptr) invalid("out", "NULL", "must point to where the model is stored");
    return make_model(read_file(path), path, out);
  });
}

rk_status rk_model_from_json(const char* text, size_t length, rk_model** out) {
  using namespace ropekit_c;
  return guarded(nullptr, [&] {
    if (text == nullptr && length > 0) invalid("json", "NULL", "must point to length bytes");
    if (out == nullptr) invalid("out", "NULL", "must point to where the model is stored");
    json config;
    try {
      config = json::parse(text, text + length);
    } catch (const json::exception& e) {
      config_error(std::string("ropekit: <json>: not valid JSON: ") + e.what());
    }
    return make_model(config, "<json>", out);
  });
}

rk_status rk_model_destroy(rk_model* model) {
  delete model;
  return RK_OK;
}

rk_status rk_model_layer_count(const rk_model* model, int64_t* count) {
  using namespace ropekit_c;
  return guarded(model == nullptr ? nullptr : &model->error, [&] {
    require_model(model);
    if (count == nullptr) invalid("count", "NULL", "must point to an int64_t");
    *count = static_cast<int64_t>(model->layer_rope.size());
    return RK_OK;
  });
}

rk_status rk_model_layer_rope(const rk_model* model, int64_t layer, const rk_rope** rope) {
  using namespace ropekit_c;
  return guarded(model == nullptr ? nullptr : &model->error, [&] {
    require_model(model);
    if (rope == nullptr) invalid("rope", "NULL", "must point to where the rope is stored");
    const auto layers = static_cast<int64_t>(model->layer_rope.size());
    if (layer < 0 || layer >= layers)
      invalid("layer", std::to_string(layer),
              "must be in [0, " + std::to_string(layers) + ") (the model's layers)");
    const std::int64_t index = model->layer_rope[static_cast<std::size_t>(layer)];
    *rope = index < 0 ? nullptr : model->ropes[static_cast<std::size_t>(index)].get();
    return index < 0 ? RK_NO_ROPE : RK_OK;
  });
}

rk_status rk_model_type(const rk_model* model, const char** model_type) {
  using namespace ropekit_c;
  return guarded(model == nullptr ? nullptr : &model->error, [&] {
    require_model(model);
    if (model_type == nullptr) invalid("model_type", "NULL", "must point to a const char*");
    *model_type = model->model_type.c_str();
    return RK_OK;
  });
}

}  // extern "C"
