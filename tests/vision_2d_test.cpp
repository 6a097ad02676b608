// SPDX-License-Identifier: Apache-2.0
// 2-D vision RoPE against each model's own formula, written here in long
// double the way transformers writes it:
//   Qwen2-VL  VisionRotaryEmbedding(head_dim // 2), rot_pos_emb's
//             [h freqs, w freqs], cat(emb, emb), rotate_half over the head;
//   Llama 4   Llama4VisionRotaryEmbedding: freqs of (x + 1) and (y + 1),
//             repeat_interleave, cat, [..., ::2], CLS masked to 0, complex
//             products of adjacent channels;
//   Gemma 4   Gemma4VisionRotaryEmbedding: per axis cat(freqs, freqs) over
//             head_dim // 2, and apply_multidimensional_rope's rotate_half
//             inside each axis's half of the head;
// on every kernel path and storage type, plus every SIMD path against scalar.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "geometry_util.hpp"
#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;
namespace s = ropekit::scaling;

using Vec = std::vector<long double>;

// Patches as (x, y) = (column, row); a few far from the origin.
struct Patch {
  std::int64_t x, y;
};
const std::vector<Patch> kPatches = {{0, 0}, {1, 0}, {0, 1}, {5, 3}, {31, 17}, {1000, 7}, {65535, 40000}};

// theta^(-2k/dim) for k < dim/2, as torch.arange(0, dim, 2) / dim.
Vec ladder(long double theta, std::int64_t dim) {
  Vec w;
  for (std::int64_t i = 0; i < dim; i += 2)
    w.push_back(std::pow(theta, -static_cast<long double>(i) / static_cast<long double>(dim)));
  return w;
}

Vec rotate_half(const Vec& x) {
  const std::size_t h = x.size() / 2;
  Vec r(x.size());
  for (std::size_t i = 0; i < h; ++i) {
    r[i] = -x[h + i];
    r[h + i] = x[i];
  }
  return r;
}

Vec cat(const Vec& a, const Vec& b) {
  Vec r = a;
  r.insert(r.end(), b.begin(), b.end());
  return r;
}

Vec scaled(const Vec& w, long double p) {
  Vec r = w;
  for (long double& v : r) v *= p;
  return r;
}

// x * cos(emb) + rotate_half(x) * sin(emb).
Vec apply_rotate_half(const Vec& x, const Vec& emb) {
  const Vec r = rotate_half(x);
  Vec out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = x[i] * std::cos(emb[i]) + r[i] * std::sin(emb[i]);
  return out;
}

// Qwen2-VL: hpos is the row (y), wpos the column (x).
Vec qwen2_vl(const Vec& head, const Patch& p, long double theta) {
  const auto d = static_cast<std::int64_t>(head.size());
  const Vec inv_freq = ladder(theta, d / 2);
  const Vec rotary_pos_emb = cat(scaled(inv_freq, p.y), scaled(inv_freq, p.x));
  return apply_rotate_half(head, cat(rotary_pos_emb, rotary_pos_emb));
}

// Llama 4: complex view of adjacent channels times e^(i freqs).
Vec llama4(const Vec& head, const Patch& p, long double theta, bool cls) {
  const auto d = static_cast<std::int64_t>(head.size());
  const std::int64_t freq_dim = d / 2;
  Vec rope_freq = ladder(theta, freq_dim);
  rope_freq.resize(static_cast<std::size_t>(freq_dim / 2));
  const auto repeat_interleave = [](const Vec& v) {
    Vec r;
    for (long double e : v) r.insert(r.end(), {e, e});
    return r;
  };
  const Vec all = cat(repeat_interleave(scaled(rope_freq, p.x + 1)),
                      repeat_interleave(scaled(rope_freq, p.y + 1)));
  Vec out = head;
  for (std::int64_t j = 0; j < freq_dim; ++j) {
    const long double f = cls ? 0.0L : all[static_cast<std::size_t>(2 * j)];  // [..., ::2]
    const long double a = head[static_cast<std::size_t>(2 * j)];
    const long double b = head[static_cast<std::size_t>(2 * j + 1)];
    out[static_cast<std::size_t>(2 * j)] = a * std::cos(f) - b * std::sin(f);
    out[static_cast<std::size_t>(2 * j + 1)] = a * std::sin(f) + b * std::cos(f);
  }
  return out;
}

// Gemma 4: position_ids (x, y); each axis's part of 2 * (d // 4) channels
// rotated with rotate_half inside the part.
Vec gemma4(const Vec& head, const Patch& p, long double theta) {
  const auto d = static_cast<std::int64_t>(head.size());
  const Vec inv_freq = ladder(theta, d / 2);
  const std::int64_t part = 2 * (d / 4);
  Vec out;
  const long double axis_position[2] = {static_cast<long double>(p.x), static_cast<long double>(p.y)};
  for (int axis = 0; axis < 2; ++axis) {
    const Vec freqs = scaled(inv_freq, axis_position[axis]);
    const Vec x(head.begin() + axis * part, head.begin() + (axis + 1) * part);
    const Vec y = apply_rotate_half(x, cat(freqs, freqs));
    out.insert(out.end(), y.begin(), y.end());
  }
  return out;
}

enum class Model { qwen2_vl, llama4, gemma4 };

constexpr std::int64_t kHeads = 2;

struct ModelCase {
  Model model;
  std::int64_t head_dim;
  double theta;
  const char* name;
};

// Each model's real head width (Qwen2-VL 1280/16, Llama 4 1408/16, Gemma 4
// 72) and theta, then other widths.
const ModelCase kCases[] = {
    {Model::qwen2_vl, 80, 10000.0, "qwen2_vl"}, {Model::qwen2_vl, 128, 10000.0, "qwen2_vl"},
    {Model::qwen2_vl, 4, 10000.0, "qwen2_vl"},  {Model::llama4, 88, 10000.0, "llama4"},
    {Model::llama4, 64, 500.0, "llama4"},       {Model::gemma4, 72, 100.0, "gemma4"},
    {Model::gemma4, 136, 100.0, "gemma4"},      {Model::gemma4, 8, 100.0, "gemma4"},
};

s::Vision2d policy_of(const ModelCase& c) {
  switch (c.model) {
    case Model::llama4: return s::Vision2d::llama4(c.theta);
    case Model::gemma4: return s::Vision2d::gemma4(c.theta);
    default: return s::Vision2d::qwen2_vl(c.theta);
  }
}

// The pairs of each model, derived here from its formula, for the
// SIMD-vs-scalar comparison: axis 0 is the row, axis 1 the column.
std::vector<ChannelPair> model_pairs(const ModelCase& c) {
  const std::int64_t d = c.head_dim, q = d / 4;
  const Vec w = ladder(c.theta, d / 2);
  std::vector<ChannelPair> pairs;
  for (std::int64_t j = 0; j < 2 * q; ++j) {
    const long double f = w[static_cast<std::size_t>(j % q)];
    const bool first_half = j < q;
    switch (c.model) {
      case Model::qwen2_vl: pairs.push_back({j, j + d / 2, first_half ? 0 : 1, f}); break;
      case Model::llama4: pairs.push_back({2 * j, 2 * j + 1, first_half ? 1 : 0, f}); break;
      case Model::gemma4: {
        const std::int64_t start = first_half ? 0 : d / 2;
        pairs.push_back({start + j % q, start + j % q + q, first_half ? 1 : 0, f});
        break;
      }
    }
  }
  return pairs;
}

template <class T, Layout L>
void check_model(const ModelCase& c) {
  SCOPED_TRACE(std::string(c.name) + " d=" + std::to_string(c.head_dim) + " " + storage_name<T>());
  const std::int64_t d = c.head_dim;
  const std::int64_t heads = kHeads;
  const auto tokens = static_cast<std::int64_t>(kPatches.size()) + (c.model == Model::llama4 ? 1 : 0);
  // Positions as ropekit takes them: [row..., column...]; Llama 4 adds 1
  // and its CLS token (last) is (0, 0).
  std::vector<std::int64_t> ids(static_cast<std::size_t>(2 * tokens), 0);
  const std::int64_t plus = c.model == Model::llama4 ? 1 : 0;
  for (std::size_t t = 0; t < kPatches.size(); ++t) {
    ids[t] = kPatches[t].y + plus;
    ids[static_cast<std::size_t>(tokens) + t] = kPatches[t].x + plus;
  }
  const Positions positions = Positions::multi_axis(ids.data(), 2, tokens, tokens);
  const auto input = random_values<T>(static_cast<std::size_t>(tokens * heads * d), 21);
  std::vector<long double> expected;
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t h = 0; h < heads; ++h) {
      Vec head(static_cast<std::size_t>(d));
      for (std::int64_t i = 0; i < d; ++i)
        head[static_cast<std::size_t>(i)] = to_double(input[static_cast<std::size_t>((t * heads + h) * d + i)]);
      const bool cls = t == static_cast<std::int64_t>(kPatches.size());
      const Patch p = cls ? Patch{0, 0} : kPatches[static_cast<std::size_t>(t)];
      const Vec out = c.model == Model::qwen2_vl ? qwen2_vl(head, p, c.theta)
                      : c.model == Model::llama4 ? llama4(head, p, c.theta, cls)
                                                 : gemma4(head, p, c.theta);
      expected.insert(expected.end(), out.begin(), out.end());
    }
  const Rope<s::Vision2d, L> rope(RotaryDims(d), policy_of(c));
  const auto rotate_on_path = [&](std::int64_t start) {
    return std::function<void(std::vector<T>&)>(
        [&rope, &positions, start, tokens, d](std::vector<T>& buffer) {
          rope.apply_q(token_major_view(buffer.data() + start, tokens, kHeads, d), positions);
        });
  };
  expect_every_path_matches_oracle<T>(rotate_on_path(0), input, expected,
                                      rotation_tolerance<T>(4.0, 3.0, 1e5));
  const auto padded = random_values<T>(static_cast<std::size_t>(tokens * heads * d + 1), 22);
  expect_paths_agree<T>(rotate_on_path(1), padded, 1, tokens, heads, d, model_pairs(c), 1.0, c.name);
}

template <class T>
void check_models() {
  for (const ModelCase& c : kCases) {
    if (c.model == Model::llama4) check_model<T, Layout::interleaved>(c);
    else check_model<T, Layout::half_split>(c);
  }
}

TEST(Vision2d, MatchesEachModelsFormulaOnEveryPath) {
  for_each_storage([](auto zero) { check_models<decltype(zero)>(); });
}

TEST(Vision2d, FrequenciesAndAxes) {
  const FrequencyTable table = Rope<s::Vision2d>(RotaryDims(16), s::Vision2d::gemma4(100.0)).table();
  ASSERT_EQ(table.pairs(), 8);
  EXPECT_EQ(table.axes(), 2);
  EXPECT_EQ(table.half_split_parts(), 2);
  EXPECT_EQ(table.rotated_pairs(), 8);
  for (std::int64_t j = 0; j < 8; ++j) {
    const long double w = std::pow(100.0L, -4.0L * static_cast<long double>(j % 4) / 16.0L);
    EXPECT_NEAR(table.inv_freq()[static_cast<std::size_t>(j)], static_cast<double>(w), 1e-16) << j;
    EXPECT_EQ(table.position_axis()[j], j < 4 ? 1 : 0) << j;  // column first
  }
  const FrequencyTable qwen = Rope<s::Vision2d>(RotaryDims(16), s::Vision2d::qwen2_vl()).table();
  EXPECT_EQ(qwen.half_split_parts(), 1);
  EXPECT_EQ(qwen.position_axis()[0], 0);  // row first
  EXPECT_EQ(qwen.position_axis()[7], 1);
  const AnyRope any(RotaryDims(80), Layout::half_split, s::Vision2d::qwen2_vl());
  EXPECT_STREQ(any.policy_name(), "vision_2d");
  EXPECT_EQ(any.attention_factor(), 1.0);
}

// Text-like tokens (one id per token) read the same position on both axes,
// as multi-axis ids with row = column do, in every pairing.
TEST(Vision2d, OneAxisPositionsFeedBothAxes) {
  for (const s::Vision2d& policy : {s::Vision2d::qwen2_vl(), s::Vision2d::gemma4(100.0)}) {
    const Rope<s::Vision2d> rope(RotaryDims(72), policy);
    const auto x0 = random_values<float>(3 * 2 * 72, 5);
    auto one = x0, two = x0;
    const std::int64_t ids[3] = {4, 90, 100000}, both[6] = {4, 90, 100000, 4, 90, 100000};
    rope.apply_q(token_major_view(one.data(), 3, 2, 72), Positions(ids, 3));
    rope.apply_q(token_major_view(two.data(), 3, 2, 72), Positions::multi_axis(both, 2, 3, 3));
    EXPECT_TRUE(bytes_equal(one, two));
  }
}

}  // namespace
