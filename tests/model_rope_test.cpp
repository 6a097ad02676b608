// SPDX-License-Identifier: Apache-2.0
// ModelRope: the layer-to-rotation map, built by hand (the config loader's
// use of it is tested in hf_model_rope_test.cpp).
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <ropekit/model_rope.hpp>
#include <ropekit/ropekit.hpp>

#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

// Gemma-3-like: five local layers of base 1e4, one global of base 1e6 with
// linear scaling, then a layer without RoPE.
ModelRope gemma_like() {
  std::vector<AnyRope> ropes = {AnyRope(RotaryDims(64), neox, scaling::Default(10000.0)),
                                AnyRope(RotaryDims(64), neox, scaling::Linear(8.0, 1e6))};
  return ModelRope(std::move(ropes), {0, 0, 0, 0, 0, 1, -1});
}

TEST(ModelRope, LayersReadTheirRotation) {
  const ModelRope m = gemma_like();
  EXPECT_EQ(m.num_layers(), 7);
  ASSERT_EQ(m.ropes().size(), 2u);
  for (std::int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(m.rope_index(i), 0);
    EXPECT_TRUE(m.has_rope(i));
    // Layers of one rotation share the object itself.
    EXPECT_EQ(m.layer(i), &m.ropes()[0]) << i;
  }
  EXPECT_EQ(m.layer(5), &m.ropes()[1]);
  EXPECT_EQ(m.layer(5)->factor(), 8.0);
  EXPECT_EQ(m.layer(5)->base(), 1e6);
  EXPECT_EQ(m.rope_index(6), -1);
  EXPECT_FALSE(m.has_rope(6));
  EXPECT_EQ(m.layer(6), nullptr);
  EXPECT_EQ(m.layers_of(0), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(m.layers_of(1), (std::vector<std::int64_t>{5}));
  // A copy keeps its layers on its own rotations.
  const ModelRope copy = m;
  EXPECT_EQ(copy.layer(3), &copy.ropes()[0]);
}

// A layer's rotation rotates like the AnyRope it was built from.
TEST(ModelRope, LayerRotatesLikeItsRope) {
  const ModelRope m = gemma_like();
  const AnyRope global(RotaryDims(64), neox, scaling::Linear(8.0, 1e6));
  auto a = random_values<float>(3 * 2 * 64, 5);
  auto b = a;
  const Positions positions = Positions::starting_at(100);
  m.layer(5)->apply_q(token_major_view(a.data(), 3, 2, 64), positions);
  global.apply_q(token_major_view(b.data(), 3, 2, 64), positions);
  EXPECT_TRUE(bytes_equal(a, b));
}

// A length-dependent rotation keeps one state for all its layers.
TEST(ModelRope, SharedStateAcrossLayers) {
  const ModelRope m({AnyRope(RotaryDims(64), neox, scaling::DynamicNtk(4.0, 256))}, {0, 0});
  const auto initial = m.layer(1)->inv_freq();
  std::vector<float> x(64, 0.5f);
  m.layer(0)->apply_q(token_major_view(x.data(), 1, 1, 64), Positions::starting_at(1000));
  EXPECT_NE(m.layer(1)->inv_freq(), initial);  // grown by layer 0's call
}

template <class F>
void expect_invalid(F f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error, expected " << fragment;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(ModelRope, BadInput) {
  const AnyRope r(RotaryDims(64), neox, scaling::Default());
  expect_invalid([&] { ModelRope({r}, {0, 1}); }, "layer_rope[1] = 1");
  expect_invalid([&] { ModelRope({r}, {0, -2}); }, "layer_rope[1] = -2");
  expect_invalid([&] { ModelRope({r, r}, {0, 0}); }, "ropes = 1");
  expect_invalid([&] { ModelRope({r}, {-1}); }, "ropes = 0");
  const ModelRope m = gemma_like();
  expect_invalid([&] { m.layer(7); }, "layer = 7");
  expect_invalid([&] { m.rope_index(-1); }, "layer = -1");
  expect_invalid([&] { m.layers_of(2); }, "rope = 2");
  // A model without layers, or whose layers all lack RoPE, is valid.
  EXPECT_EQ(ModelRope({}, {}).num_layers(), 0);
  EXPECT_EQ(ModelRope({}, {-1, -1}).layer(1), nullptr);
}

}  // namespace
