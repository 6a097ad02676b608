// SPDX-License-Identifier: Apache-2.0
// The fused QK-norm on every SIMD path against the scalar reference: float,
// half, bfloat16 and FP8, both layouts, rotary_dim 2..64 (all even) with a
// pass-through tail and a spread to 512, every policy, unaligned, strided
// and head-major views; FP8 with per-head scales; and calls large enough to
// stream from memory give the bits of the same tokens in small calls.
//
// Bound per channel, y the exactly normalised values, m the attention
// factor, u = 2^-24, each term relative to m * (|y_a| + |y_b|) for a
// rotated pair (a, b), to |y| for a channel that passes through:
//   the norm factors: each within u of 1/sqrt(mean + eps), so 2u apart;
//   cos/sin: at most one float ulp apart (simd_test.cpp), 2u of m;
//   the scalar reference: (x r) w in float (2u), the rotation in double
//   rounded once (u);
//   the SIMD paths: w c and w s rounded (u), the product with the partner
//   and the fused add (2u), times r (u).
//   rotated pair (a, b):  11u, bounded by 12u * m * (|y_a| + |y_b|)
//   other channels:       2u + 2u + 2u = 6u * |y| (both compute (x r) w)
// Narrow storage adds one rounding of each path's result to T (2 u_T of
// the same magnitude) and T's subnormal spacing twice.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "norm_test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;
namespace s = ropekit::scaling;

const std::int64_t kIds[] = {0, 1, 4095, 131071, 1000003, 2147483647};
constexpr std::int64_t kTokens = 6;
constexpr double kU = 0x1p-24;
constexpr float kEps = 1e-6f;


// Where a tensor's heads sit in its buffer; everything else is a sentinel.
enum class Placement { contiguous, unaligned, padded_strides, head_major };

struct Placed {
  std::int64_t token_stride, head_stride, offset, size;
};

Placed placed(Placement p, std::int64_t heads, std::int64_t d) {
  switch (p) {
    case Placement::unaligned: return {heads * d, d, 1, kTokens * heads * d + 1};
    case Placement::padded_strides: return {heads * (d + 3) + 5, d + 3, 0, kTokens * (heads * (d + 3) + 5)};
    case Placement::head_major: return {d, kTokens * d, 0, kTokens * heads * d};
    default: return {heads * d, d, 0, kTokens * heads * d};
  }
}

std::size_t at(const Placed& g, std::int64_t t, std::int64_t h, std::int64_t c) {
  return static_cast<std::size_t>(g.offset + t * g.token_stride + h * g.head_stride + c);
}

template <class T>
std::vector<T> scatter(const std::vector<T>& x, const Placed& g, std::int64_t heads, std::int64_t d) {
  std::vector<T> buffer(static_cast<std::size_t>(g.size), T(-7.0f));
  for (std::int64_t t = 0; t < kTokens; ++t)
    for (std::int64_t h = 0; h < heads; ++h)
      for (std::int64_t c = 0; c < d; ++c) buffer[at(g, t, h, c)] = x[static_cast<std::size_t>((t * heads + h) * d + c)];
  return buffer;
}

template <class T>
std::vector<T> gather(const std::vector<T>& buffer, const Placed& g, std::int64_t heads, std::int64_t d) {
  std::vector<T> x(static_cast<std::size_t>(kTokens * heads * d));
  for (std::int64_t t = 0; t < kTokens; ++t)
    for (std::int64_t h = 0; h < heads; ++h)
      for (std::int64_t c = 0; c < d; ++c) x[static_cast<std::size_t>((t * heads + h) * d + c)] = buffer[at(g, t, h, c)];
  return x;
}

// One tensor, normalised and rotated on `isa` in the placement's buffer.
template <class T>
std::vector<T> fused(Isa isa, const AnyPolicy& policy, const RotaryDims& dims, Layout layout,
                     std::vector<T> buffer, const Placed& g, std::int64_t heads, const HeadNorm& norm,
                     float scale) {
  ScopedIsa scoped(isa);
  HeadView<T> v(buffer.data() + g.offset, kTokens, heads, dims.head_dim(), g.token_stride, g.head_stride);
  if constexpr (is_fp8_v<T>) v = v.with_scale(scale);
  (void)scale;
  apply_head_norm(AnyRope(dims, layout, policy), v, Positions(kIds, kTokens), norm);
  return buffer;
}

// Half-split runs per head of a Rope's table (Gemma 4's vision tower: 2).
std::int64_t parts_of(const AnyRope& rope) {
  return detail::TableAccess::angles(rope.table()).shape.half_split_parts;
}

// Largest float SIMD-against-scalar difference seen, in units of 2^-24 of
// the magnitude (printed for the record).
double g_float_worst = 0.0;

template <class T>
void compare(Isa isa, const AnyPolicy& policy, const RotaryDims& dims, Layout layout, std::int64_t heads,
             Placement placement, NormWeight kind, float scale = 1.0f) {
  const std::int64_t d = dims.head_dim();
  SCOPED_TRACE(std::string(AnyRope(dims, layout, policy).policy_name()) + " " + isa_name(isa) + " " +
               storage_name<T>() + " " + layout_name(layout) + " d=" + std::to_string(dims.rotary_dim()) + "/" +
               std::to_string(d) + " heads=" + std::to_string(heads) + " placement=" +
               std::to_string(static_cast<int>(placement)));
  const auto w = norm_weights(d, kind, 31);
  const HeadNorm norm{w, kEps, kind};
  const auto x = norm_input<T>(kTokens, heads, d, 32, scale);
  const Placed g = placed(placement, heads, d);
  const auto input = scatter(x, g, heads, d);
  const auto simd = fused(isa, policy, dims, layout, input, g, heads, norm, scale);
  const auto reference = fused(Isa::scalar, policy, dims, layout, input, g, heads, norm, scale);
  // Everything outside the heads (padding, the element before an unaligned
  // view) untouched on both paths.
  std::vector<bool> in_head(input.size(), false);
  for (std::int64_t t = 0; t < kTokens; ++t)
    for (std::int64_t h = 0; h < heads; ++h)
      for (std::int64_t c = 0; c < d; ++c) in_head[at(g, t, h, c)] = true;
  for (std::size_t i = 0; i < input.size(); ++i)
    if (!in_head[i]) {
      ASSERT_EQ(std::memcmp(&simd[i], &input[i], sizeof(T)), 0) << "element " << i;
      ASSERT_EQ(std::memcmp(&reference[i], &input[i], sizeof(T)), 0) << "element " << i;
    }
  const NormedTensor n = normed(x, d, w.data(), kEps, kind, scale);
  const auto ref = gather(reference, g, heads, d);
  std::vector<double> expected(ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) expected[i] = value_of(ref[i], scale);
  const double m = AnyRope(dims, layout, policy).table_for_length(kIds[kTokens - 1] + 1).attention_factor();
  const double narrow = 2 * narrow_roundoff<T>();
  const double worst =
      expect_within(gather(simd, g, heads, d), expected, n.exact, dims, layout, m,
                    NormBound{12 * kU + narrow, 6 * kU + narrow, 2 * storage_spacing<T>() * scale, nullptr,
                              layout == Layout::half_split ? parts_of(AnyRope(dims, layout, policy)) : 1},
                    scale, "simd against scalar");
  if (std::is_same_v<T, float>) g_float_worst = std::max(g_float_worst, worst / kU);
}

template <class F>
void for_each_storage(F&& f) {
  f(float{}, 1.0f);
  f(Eigen::half{}, 1.0f);
  f(Eigen::bfloat16{}, 1.0f);
  f(float8_e4m3fn{}, 0.03125f);
  f(float8_e5m2{}, 0.75f);
}

class QkNormSimd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (simd_paths().empty()) GTEST_SKIP() << "no SIMD path compiled in or supported here";
    g_float_worst = 0.0;
  }
  void TearDown() override {
    std::printf("float, SIMD against scalar: largest difference %.2f u of the magnitude\n", g_float_worst);
  }
};

TEST_F(QkNormSimd, EveryRotaryDim) {
  std::vector<std::pair<std::int64_t, std::int64_t>> widths;
  for (std::int64_t r = 2; r <= 64; r += 2) widths.push_back({r + 6, r});
  for (std::int64_t r : {80, 96, 126, 128, 130, 192, 256, 384, 510, 512}) widths.push_back({r, r});
  widths.push_back({600, 512});
  for (Isa isa : simd_paths())
    for (const auto& width : widths)
      for (Layout layout : {Layout::half_split, Layout::interleaved})
        for_each_storage([&](auto type, float scale) {
          compare<decltype(type)>(isa, s::Default(10000.0), RotaryDims(width.first, width.second), layout, 3,
                                  Placement::contiguous, NormWeight::multiply, scale);
        });
}

TEST_F(QkNormSimd, EveryPolicyAndKind) {
  for (Isa isa : simd_paths())
    for (Layout layout : {Layout::half_split, Layout::interleaved})
      for (NormWeight kind : {NormWeight::multiply, NormWeight::one_plus})
        for_each_policy(
            [&](auto policy) {
              for_each_storage([&](auto type, float scale) {
                compare<decltype(type)>(isa, policy, RotaryDims(136, 128), layout, 5, Placement::contiguous,
                                        kind, scale);
              });
            },
            64);
}

// Heads rotating in more than one block of pairs (rotary_dim > 512): each
// head's norm factor must come from its input before any of it is written,
// in place too; and more heads than the kernels keep factors for at once.
TEST_F(QkNormSimd, WideHeadsAndManyHeads) {
  for (Isa isa : simd_paths())
    for (Layout layout : {Layout::half_split, Layout::interleaved}) {
      for (const auto& width : {std::pair{514, 514}, std::pair{640, 640}, std::pair{1100, 1026}})
        for_each_storage([&](auto type, float scale) {
          compare<decltype(type)>(isa, s::Yarn(4.0, 4096, 1e6), RotaryDims(width.first, width.second), layout, 3,
                                  Placement::contiguous, NormWeight::one_plus, scale);
        });
      compare<float>(isa, s::Default(10000.0), RotaryDims(1040, 1024), layout, 70, Placement::padded_strides,
                     NormWeight::multiply);
      compare<Eigen::bfloat16>(isa, s::Default(10000.0), RotaryDims(128), layout, 70, Placement::head_major,
                               NormWeight::multiply);
    }
}

// Gemma 4's vision tower: two half-split parts per head.
TEST_F(QkNormSimd, HalfSplitParts) {
  for (Isa isa : simd_paths())
    for (const auto& width : {std::pair{72, 72}, std::pair{1152, 1152}})
      for_each_storage([&](auto type, float scale) {
        compare<decltype(type)>(isa, s::Vision2d::gemma4(10000.0), RotaryDims(width.first, width.second),
                                Layout::half_split, 3, Placement::contiguous, NormWeight::multiply, scale);
      });
}

TEST_F(QkNormSimd, UnalignedStridedAndHeadMajorViews) {
  for (Isa isa : simd_paths())
    for (Placement p : {Placement::unaligned, Placement::padded_strides, Placement::head_major})
      for (const auto& width : {std::pair{26, 24}, std::pair{128, 128}, std::pair{96, 80}})
        for (Layout layout : {Layout::half_split, Layout::interleaved})
          for_each_storage([&](auto type, float scale) {
            compare<decltype(type)>(isa, s::Linear(2.0), RotaryDims(width.first, width.second), layout, 4, p,
                                    NormWeight::one_plus, scale);
          });
}

// FP8 with one scale per head: on every path, the float result of the
// dequantised values, divided by the head's scale and rounded once.
template <class F>
void expect_head_scaled_fp8(Isa isa, Layout layout) {
  SCOPED_TRACE(std::string(isa_name(isa)) + " " + storage_name<F>() + " " + layout_name(layout));
  constexpr std::int64_t heads = 4, d = 72;
  const RotaryDims dims(d, 64);
  const float scales[heads] = {0.015625f, 0.25f, 3.0f, 0.0078125f};
  const auto w = norm_weights(d, NormWeight::multiply, 33);
  const HeadNorm norm{w, kEps, NormWeight::multiply};
  const auto values = norm_input<float>(kTokens, heads, d, 34);
  std::vector<F> x(values.size());
  std::vector<float> wide(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float scale = scales[(i / d) % heads];
    x[i] = F(values[i] / scale);
    wide[i] = static_cast<float>(x[i]) * scale;
  }
  ScopedIsa scoped(isa);
  const AnyRope rope(dims, layout, s::Yarn(4.0, 4096, 10000.0));
  apply_head_norm(rope, token_major_view(x.data(), kTokens, heads, d).with_head_scales(scales),
                  Positions(kIds, kTokens), norm);
  apply_head_norm(rope, token_major_view(wide.data(), kTokens, heads, d), Positions(kIds, kTokens), norm);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const F once(wide[i] / scales[(i / d) % heads]);
    ASSERT_EQ(x[i].bits(), once.bits()) << "element " << i;
  }
}

TEST(QkNormFp8, HeadScalesOnEveryPath) {
  for (Isa isa : available_isas())
    for (Layout layout : {Layout::half_split, Layout::interleaved}) {
      expect_head_scaled_fp8<float8_e4m3fn>(isa, layout);
      expect_head_scaled_fp8<float8_e5m2>(isa, layout);
    }
}

// Calls too large for the cache prefetch the next token while normalising
// this one: the bits must not change.
template <class T>
void expect_streaming_matches_pieces(Isa isa, Layout layout) {
  SCOPED_TRACE(std::string(isa_name(isa)) + " " + storage_name<T>() + " " + layout_name(layout));
  constexpr std::int64_t q_heads = 4, k_heads = 2, d = 90;
  const std::int64_t tokens = streaming_tokens((q_heads + k_heads) * d * std::int64_t{sizeof(T)});
  const RotaryDims dims(d, 84);
  const auto wq = norm_weights(d, NormWeight::multiply, 35), wk = norm_weights(d, NormWeight::multiply, 36);
  const QkNorm norm{wq, wk, kEps, NormWeight::multiply};
  const auto q0 = norm_input<T>(tokens, q_heads, d, 37), k0 = norm_input<T>(tokens, k_heads, d, 38);
  const Positions positions = Positions::starting_at(max_position + 1 - tokens);  // last: max_position
  const AnyRope rope(dims, layout, s::Linear(4.0, 500000.0));
  ScopedIsa scoped(isa);
  auto q = q0, k = k0;
  apply_qk_norm(rope, token_major_view(q.data(), tokens, q_heads, d), token_major_view(k.data(), tokens, k_heads, d),
                positions, norm);
  auto q2 = q0, k2 = k0;
  const auto qv = token_major_view(q2.data(), tokens, q_heads, d);
  const auto kv = token_major_view(k2.data(), tokens, k_heads, d);
  for (std::int64_t t = 0; t < tokens; t += 8)
    apply_qk_norm(rope, qv.token_range(t, 8), kv.token_range(t, 8), positions.token_range(t, 8), norm);
  EXPECT_TRUE(bytes_equal(q, q2));
  EXPECT_TRUE(bytes_equal(k, k2));
}

TEST(QkNormStreaming, CallsThatStreamFromMemoryMatchSmallCalls) {
  for (Isa isa : available_isas())
    for (Layout layout : {Layout::half_split, Layout::interleaved}) {
      expect_streaming_matches_pieces<float>(isa, layout);
      expect_streaming_matches_pieces<Eigen::bfloat16>(isa, layout);
      expect_streaming_matches_pieces<float8_e4m3fn>(isa, layout);
    }
}

// A stream that normalises without rotating (the kernels' kRotate = false
// with kNorm, no public entry point yet): every path normalises every
// channel, as the scalar reference does: (x r) w within 3u of exact, plus
// one rounding to T.
template <class T>
void expect_normalised_only(Isa isa) {
  SCOPED_TRACE(std::string(isa_name(isa)) + " " + storage_name<T>());
  constexpr std::int64_t heads = 3, d = 40;
  const RotaryDims dims(d, 24);
  const auto w = norm_weights(d, NormWeight::one_plus, 39);
  auto x = norm_input<T>(kTokens, heads, d, 40);
  const NormedTensor n = normed(x, d, w.data(), kEps, NormWeight::one_plus);
  const Rope<s::Default> rope(dims);
  using NormOnly = detail::Stream<HeadView<T>, detail::InPlace, false, true>;
  const detail::StreamNames names[] = {{"x", "x"}};
  ScopedIsa scoped(isa);
  detail::execute_streams<detail::native_tag, Layout::half_split>(
      rope.source(detail::Direction::forward), dims, Positions(kIds, kTokens), 1,
      std::make_tuple(NormOnly{token_major_view(x.data(), kTokens, heads, d), detail::InPlace{},
                               detail::NormSpec{w.data(), kEps, true}}),
      names);
  for (std::size_t i = 0; i < x.size(); ++i)
    ASSERT_NEAR(value_of(x[i], 1.0f), n.exact[i],
                (3 * kU + 2 * narrow_roundoff<T>()) * std::fabs(n.exact[i]) + storage_spacing<T>())
        << "element " << i;
}

TEST(QkNormDetail, NormaliseWithoutRotatingOnEveryPath) {
  for (Isa isa : available_isas()) {
    expect_normalised_only<float>(isa);
    expect_normalised_only<Eigen::bfloat16>(isa);
  }
}

}  // namespace
