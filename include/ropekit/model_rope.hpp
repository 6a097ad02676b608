// SPDX-License-Identifier: Apache-2.0
// ModelRope: a model's RoPE layer by layer. Current models do not use one
// rotation everywhere: Gemma 3 and Gemma 4 give sliding-window and full
// attention layers different bases, widths and scaling; Llama 4, SmolLM3,
// Cohere2 and EXAONE 4 leave some attention layers without RoPE; hybrid
// models (Qwen3-Next, MiniMax, LFM2) have layers without attention at all.
// ModelRope answers "which rotation does layer i use?": none, or one of a
// few distinct AnyRope objects that the layers of one type share (as the
// models share one rotary embedding per layer type).
#ifndef ROPEKIT_MODEL_ROPE_HPP
#define ROPEKIT_MODEL_ROPE_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "any_rope.hpp"
#include "error.hpp"
#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// The RoPE of every layer of a model: `ropes()` are the distinct rotations,
/// `layer(i)` the one layer i applies (nullptr for a layer without RoPE).
///
/// Layers that share a rotation share the AnyRope object itself, so a
/// length-dependent policy (`DynamicNtk`, per-call `LongRope`) keeps one
/// state per rotation, as transformers keeps one rotary embedding per layer
/// type. Every member is const and, like AnyRope, safe to call from any
/// number of threads at once.
class ModelRope {
 public:
  /// `layer_rope[i]` is the index into `ropes` of the rotation layer i
  /// uses, or -1 for a layer without RoPE. Throws std::invalid_argument
  /// naming `layer_rope[i]` for an index out of range, and naming `ropes`
  /// for a rotation no layer uses.
  ModelRope(std::vector<AnyRope> ropes, std::vector<std::int64_t> layer_rope)
      : ropes_(std::move(ropes)), layer_rope_(std::move(layer_rope)) {
    const auto count = static_cast<std::int64_t>(ropes_.size());
    std::vector<bool> used(ropes_.size(), false);
    for (std::size_t i = 0; i < layer_rope_.size(); ++i) {
      const std::int64_t r = layer_rope_[i];
      if (r < -1 || r >= count)
        detail::fail(
            ("layer_rope[" + std::to_string(i) + "]").c_str(), r,
            "must be -1 (no RoPE) or an index into the " + std::to_string(count) + " ropes");
      if (r >= 0) used[static_cast<std::size_t>(r)] = true;
    }
    for (std::size_t k = 0; k < used.size(); ++k)
      if (!used[k])
        detail::fail("ropes", static_cast<std::int64_t>(k),
                     "is the index of a rope no layer uses (ropes must be distinct and used)");
  }

  /// The number of layers.
  std::int64_t num_layers() const noexcept { return static_cast<std::int64_t>(layer_rope_.size()); }

  /// The distinct rotations, in order of their first layer.
  const std::vector<AnyRope>& ropes() const noexcept { return ropes_; }

  /// The index into `ropes()` of layer `layer`'s rotation, or -1 when the
  /// layer has no RoPE. Throws std::invalid_argument for a layer out of range.
  std::int64_t rope_index(std::int64_t layer) const {
    check_layer(layer);
    return layer_rope_[static_cast<std::size_t>(layer)];
  }

  /// Whether layer `layer` applies RoPE.
  bool has_rope(std::int64_t layer) const { return rope_index(layer) >= 0; }

  /// The rotation layer `layer` applies, or nullptr when it has none.
  const AnyRope* layer(std::int64_t layer) const {
    const std::int64_t r = rope_index(layer);
    return r < 0 ? nullptr : &ropes_[static_cast<std::size_t>(r)];
  }

  /// The layers that use `ropes()[rope]`, ascending.
  std::vector<std::int64_t> layers_of(std::int64_t rope) const {
    if (rope < 0 || rope >= static_cast<std::int64_t>(ropes_.size()))
      detail::fail("rope", rope,
                   "must index ropes() (" + std::to_string(ropes_.size()) + " ropes)");
    std::vector<std::int64_t> layers;
    for (std::size_t i = 0; i < layer_rope_.size(); ++i)
      if (layer_rope_[i] == rope) layers.push_back(static_cast<std::int64_t>(i));
    return layers;
  }

 private:
  void check_layer(std::int64_t layer) const {
    if (layer < 0 || layer >= num_layers())
      detail::fail("layer", layer,
                   "must be in [0, num_layers) with num_layers = " + std::to_string(num_layers()));
  }

  std::vector<AnyRope> ropes_;
  std::vector<std::int64_t> layer_rope_;
};

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_MODEL_ROPE_HPP
