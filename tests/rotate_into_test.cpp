// SPDX-License-Identifier: Apache-2.0
// rotate_into and convert, every source type into every destination type
// (float, half, bfloat16, FP8 E4M3 and E5M2 with per-tensor or per-head
// scales), both layouts, partial rotary, odd head widths, strided and
// unaligned views, on every kernel path:
// - on each path, rotate_into(src -> D) is bit for bit the in-place float
//   rotation of src converted to float, converted once to D (one rounding;
//   for float -> float the in-place rotation itself), and writes nothing
//   but dst's heads;
// - each SIMD path is within conversion_bound of the scalar reference on
//   rotated channels and bit for bit equal on everything else;
// - a call too large for the cache (the streaming visit order) writes the
//   bytes of the same call made in cache-resident pieces;
// - convert equals the conversion definitions (fp8.hpp) element by element.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "bad_call.hpp"
#include "convert_util.hpp"
#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

const std::int64_t kIds[] = {0, 1, 4095, 131071, 1000003, 2147483647};
constexpr std::int64_t kTokens = 6;

// One shape of a call: widths, heads, where source and destination sit,
// and whether FP8 sides carry one scale per head.
struct Shape {
  std::int64_t head_dim, rotary_dim, heads;
  Placement src, dst;
  bool per_head;
};

const Shape kShapes[] = {
    {128, 128, 3, Placement::contiguous, Placement::contiguous, false},
    {90, 84, 5, Placement::padded_strides, Placement::unaligned, true},     // 42 pairs = 32 + 8 + 2
    {37, 30, 2, Placement::head_major, Placement::padded_strides, false},   // odd width, 7 copied
    {20, 6, 4, Placement::unaligned, Placement::head_major, true},  // 3 pairs, 14 copied
};

// Scales per head (all equal for a per-tensor scale). The destination's
// second one saturates E4M3 on large results.
std::vector<float> src_scales(std::int64_t heads, bool per_head) {
  const float per[] = {0.03125f, 0.011f, 0.5f, 0.0078f, 0.2f};
  std::vector<float> s(static_cast<std::size_t>(heads));
  for (std::size_t h = 0; h < s.size(); ++h) s[h] = per_head ? per[h % 5] : 0.0234f;
  return s;
}
std::vector<float> dst_scales(std::int64_t heads, bool per_head) {
  const float per[] = {0.02f, 0.005f, 0.1f, 0.0131f, 0.04f};
  std::vector<float> s(static_cast<std::size_t>(heads));
  for (std::size_t h = 0; h < s.size(); ++h) s[h] = per_head ? per[h % 5] : 0.0171f;
  return s;
}
template <class T>
std::vector<float> scales_for(std::vector<float> s) {
  if (!is_fp8_v<T>) s.assign(s.size(), 1.0f);
  return s;
}

template <class S, class D, Layout L>
void check_pair(const Shape& shape) {
  const RotaryDims dims(shape.head_dim, shape.rotary_dim);
  SCOPED_TRACE(std::string(storage_name<S>()) + " -> " + storage_name<D>() + " " + layout_name(L) +
               " d=" + std::to_string(shape.rotary_dim) + "/" + std::to_string(shape.head_dim) +
               " heads=" + std::to_string(shape.heads) + " src " + placement_name(shape.src) +
               " dst " + placement_name(shape.dst) +
               (shape.per_head ? " per-head" : " per-tensor"));
  const Rope<scaling::Yarn, L> rope(dims, scaling::Yarn(4.0, 4096, 10000.0));
  const double m = rope.attention_factor();
  const Grid gs = Grid::make(shape.src, kTokens, shape.heads, shape.head_dim);
  const Grid gd = Grid::make(shape.dst, kTokens, shape.heads, shape.head_dim);
  const Grid wide_grid = Grid::make(Placement::contiguous, kTokens, shape.heads, shape.head_dim);
  const auto ss = scales_for<S>(src_scales(shape.heads, shape.per_head));
  const auto ds = scales_for<D>(dst_scales(shape.heads, shape.per_head));
  const auto src = filled<S>(gs, 31, ss);
  const Positions positions(kIds, kTokens);

  std::vector<std::vector<D>> results;
  const auto paths = available_isas();
  for (Isa isa : paths) {
    SCOPED_TRACE(isa_name(isa));
    ScopedIsa scoped(isa);
    auto source = src;
    auto out = canaries<D>(gd);
    rotate_into<L>(rope.table(), dims, scaled(gs.view<const S>(source), ss, shape.per_head),
                   scaled(gd.view<D>(out), ds, shape.per_head), positions);
    ASSERT_TRUE(bytes_equal(source, src)) << "the source changed";
    // The same path, step by step: widen, rotate in place, round once.
    std::vector<float> wide(static_cast<std::size_t>(wide_grid.size));
    convert(scaled(gs.view<const S>(source), ss, shape.per_head), wide_grid.view<float>(wide));
    rotate<L>(rope.table(), dims, wide_grid.view<float>(wide), positions);
    auto expected = canaries<D>(gd);
    convert(wide_grid.view<const float>(wide), scaled(gd.view<D>(expected), ds, shape.per_head));
    for (std::size_t i = 0; i < out.size(); ++i)
      ASSERT_TRUE(same_element(out[i], expected[i])) << "element " << i;
    results.push_back(out);
  }

  // Every SIMD path against the scalar reference (paths[0]).
  ASSERT_EQ(paths.front(), Isa::scalar);
  const auto& reference = results.front();
  std::vector<bool> rotated(reference.size(), false);
  for (std::size_t p = 1; p < paths.size(); ++p) {
    SCOPED_TRACE(isa_name(paths[p]));
    const auto& simd = results[p];
    for (std::int64_t t = 0; t < kTokens; ++t)
      for (std::int64_t h = 0; h < shape.heads; ++h)
        for (std::int64_t j = 0; j < dims.pairs(); ++j) {
          const std::int64_t c0 = L == Layout::half_split ? j : 2 * j;
          const std::int64_t c1 = L == Layout::half_split ? j + dims.pairs() : 2 * j + 1;
          const float sh = ss[static_cast<std::size_t>(h)], dh = ds[static_cast<std::size_t>(h)];
          const double magnitude =
              std::fabs(value_of(src[static_cast<std::size_t>(gs.at(t, h, c0))], sh)) +
              std::fabs(value_of(src[static_cast<std::size_t>(gs.at(t, h, c1))], sh));
          const double bound = conversion_bound<D>(magnitude, m, dh);
          for (std::int64_t c : {c0, c1}) {
            const auto i = static_cast<std::size_t>(gd.at(t, h, c));
            rotated[i] = true;
            ASSERT_NEAR(value_of(simd[i], dh), value_of(reference[i], dh), bound)
                << "t=" << t << " h=" << h << " channel " << c;
          }
        }
    for (std::size_t i = 0; i < simd.size(); ++i) {
      if (!rotated[i]) {
        ASSERT_TRUE(same_element(simd[i], reference[i])) << "copied element " << i;
      }
    }
  }
}

template <Layout L>
void check_every_pair() {
  for_each_conversion_type([](auto s) {
    for_each_conversion_type([](auto d) {
      for (const Shape& shape : kShapes) check_pair<decltype(s), decltype(d), L>(shape);
    });
  });
}

TEST(RotateInto, EveryPairHalfSplit) { check_every_pair<Layout::half_split>(); }
TEST(RotateInto, EveryPairInterleaved) { check_every_pair<Layout::interleaved>(); }

// Calls too large for the cache (source read plus destination written just
// over kCacheResidentBytes) take the streaming visit order, head by head
// with prefetches of the next token; on every path they write the bytes of
// the same call made in cache-resident pieces of 8 tokens. The pairs reuse
// kernels EveryPair instantiates: FP8 on each side, every width.
template <class S, class D, Layout L>
void expect_streaming_matches_pieces(Isa isa) {
  SCOPED_TRACE(std::string(isa_name(isa)) + " " + storage_name<S>() + " -> " + storage_name<D>() +
               " " + layout_name(L));
  ScopedIsa scoped(isa);
  const Shape& shape = kShapes[1];  // 42 pairs = 32 + 8 + 2, 6 channels copied, strided
  const std::int64_t tokens = streaming_tokens(shape.heads * shape.head_dim *
                                               std::int64_t{sizeof(S) + sizeof(D)});
  const RotaryDims dims(shape.head_dim, shape.rotary_dim);
  const Rope<scaling::Yarn, L> rope(dims, scaling::Yarn(4.0, 4096, 10000.0));
  const Grid gs = Grid::make(shape.src, tokens, shape.heads, shape.head_dim);
  const Grid gd = Grid::make(shape.dst, tokens, shape.heads, shape.head_dim);
  const auto ss = scales_for<S>(src_scales(shape.heads, true));
  const auto ds = scales_for<D>(dst_scales(shape.heads, true));
  const auto src = filled<S>(gs, 41, ss);
  const Positions positions = Positions::starting_at(max_position + 1 - tokens);
  auto whole = canaries<D>(gd), pieces = whole;
  const auto source = scaled(gs.view<const S>(src), ss, true);
  rotate_into<L>(rope.table(), dims, source, scaled(gd.view<D>(whole), ds, true), positions);
  const auto out = scaled(gd.view<D>(pieces), ds, true);
  for (std::int64_t t = 0; t < tokens; t += 8)
    rotate_into<L>(rope.table(), dims, source.token_range(t, 8), out.token_range(t, 8),
                   positions.token_range(t, 8));
  EXPECT_TRUE(bytes_equal(whole, pieces));
  EXPECT_FALSE(bytes_equal(whole, canaries<D>(gd)));
}

TEST(RotateInto, CallsThatStreamFromMemoryMatchSmallCalls) {
  for (Isa isa : simd_paths()) {
    expect_streaming_matches_pieces<float, Eigen::bfloat16, Layout::half_split>(isa);
    expect_streaming_matches_pieces<Eigen::bfloat16, float8_e4m3fn, Layout::interleaved>(isa);
    expect_streaming_matches_pieces<float8_e5m2, Eigen::half, Layout::half_split>(isa);
    expect_streaming_matches_pieces<Eigen::half, float, Layout::interleaved>(isa);
  }
}

// float -> float out of place is the in-place rotation of a copy, bit for
// bit, on every path (no conversion step at all); double likewise on the
// scalar path it always takes.
template <class T, Layout L>
void expect_out_of_place_is_in_place() {
  for (Isa isa : available_isas()) {
    ScopedIsa scoped(isa);
    Rope<scaling::Llama3, L> rope(RotaryDims(96, 80),
                                  scaling::Llama3(8.0, 1.0, 4.0, 8192, 500000.0));
    const auto src = random_values<T>(kTokens * 4 * 96, 3);
    std::vector<T> out(src.size()), copy = src;
    rotate_into(rope, token_major_view(src.data(), kTokens, 4, 96),
                token_major_view(out.data(), kTokens, 4, 96), Positions(kIds, kTokens));
    rope.apply_q(token_major_view(copy.data(), kTokens, 4, 96), Positions(kIds, kTokens));
    EXPECT_TRUE(bytes_equal(out, copy)) << isa_name(isa) << " " << storage_name<T>();
  }
}

TEST(RotateInto, SameTypeEqualsInPlaceRotationOfACopy) {
  expect_out_of_place_is_in_place<float, Layout::half_split>();
  expect_out_of_place_is_in_place<float, Layout::interleaved>();
  expect_out_of_place_is_in_place<double, Layout::half_split>();
  expect_out_of_place_is_in_place<double, Layout::interleaved>();
}

// A rotated slice at an offset (DeepSeek-V4's last channels) and an
// identity tail (proportional RoPE rotates only the pairs with a
// frequency): out of place is the in-place rotation of a copy, bit for bit,
// on every path, the channels that do not rotate copied.
TEST(RotateInto, SliceAtAnOffsetAndIdentityTailAsInPlace) {
  for_each_path_and_slice_rope([](const auto& rope) {
    const std::int64_t head_dim = rope.dims().head_dim();
    const auto src = random_values<float>(kTokens * 3 * head_dim, 5);
    std::vector<float> out(src.size(), -9.0f), copy = src;
    rotate_into(rope, token_major_view(src.data(), kTokens, 3, head_dim),
                token_major_view(out.data(), kTokens, 3, head_dim), Positions(kIds, kTokens));
    rope.apply_q(token_major_view(copy.data(), kTokens, 3, head_dim), Positions(kIds, kTokens));
    EXPECT_TRUE(bytes_equal(out, copy)) << "head_dim " << head_dim;
  });
}

// q and k in one call give the bits of two one-tensor calls; Rope, AnyRope
// and the table form agree; a length-dependent policy advances its state as
// apply does.
TEST(RotateInto, PairCallRopeAnyRopeAndTableAgree) {
  const RotaryDims dims(64);
  const std::int64_t ids[3] = {10, 9000, 20};
  const Positions positions(ids, 3);
  const auto q = random_values<Eigen::bfloat16>(3 * 8 * 64, 1);
  const auto k = random_values<float>(3 * 2 * 64, 2);
  for (Isa isa : available_isas()) {
    ScopedIsa scoped(isa);
    Rope<scaling::DynamicNtk, gptj> rope(dims, scaling::DynamicNtk(2.0, 64, 10000.0));
    AnyRope any(dims, gptj, scaling::DynamicNtk(2.0, 64, 10000.0));
    std::vector<float8_e5m2> q1(q.size()), q2(q.size()), q3(q.size());
    std::vector<Eigen::half> k1(k.size()), k2(k.size()), k3(k.size());
    const auto qv = token_major_view(q.data(), 3, 8, 64);
    const auto kv = token_major_view(k.data(), 3, 2, 64);
    rotate_into(rope, qv, token_major_view(q1.data(), 3, 8, 64).with_scale(0.01f), kv,
                token_major_view(k1.data(), 3, 2, 64), positions);
    EXPECT_EQ(rope.state(), 9001);
    rotate_into(any, qv, token_major_view(q2.data(), 3, 8, 64).with_scale(0.01f), positions);
    rotate_into(any, kv, token_major_view(k2.data(), 3, 2, 64), positions);
    const FrequencyTable table = rope.table_for(9001);
    rotate_into<gptj>(table, dims, qv, token_major_view(q3.data(), 3, 8, 64).with_scale(0.01f), kv,
                      token_major_view(k3.data(), 3, 2, 64), positions);
    EXPECT_TRUE(bytes_equal(q1, q2) && bytes_equal(q1, q3)) << isa_name(isa);
    EXPECT_TRUE(bytes_equal(k1, k2) && bytes_equal(k1, k3)) << isa_name(isa);
  }
}

// convert: element by element what fp8.hpp and the half/bfloat16 types
// define, on every path, special values included (saturation, infinities,
// NaN, subnormals), per-head scales on both FP8 sides.
template <class S, class D>
void expect_convert_matches_definitions() {
  SCOPED_TRACE(std::string(storage_name<S>()) + " -> " + storage_name<D>());
  const Grid gs = Grid::make(Placement::padded_strides, 4, 3, 19);
  const Grid gd = Grid::make(Placement::unaligned, 4, 3, 19);
  const auto ss = scales_for<S>({0.75f, 0.0625f, 3.0f});
  const auto ds = scales_for<D>({0.02f, 1.0f, 0.001f});
  auto src = filled<S>(gs, 5, ss);
  const float specials[] = {
      1e30f,        -1e30f,    70000.0f,  -500.0f,
      1e-30f,       0x1p-130f, -0x1p-20f, std::numeric_limits<float>::infinity(),
      std::nanf("")};
  for (std::size_t i = 0; i < sizeof specials / sizeof specials[0]; ++i)
    src[static_cast<std::size_t>(gs.at(1, 1, static_cast<std::int64_t>(i)))] = S(specials[i]);
  auto expected = canaries<D>(gd);
  for (std::int64_t t = 0; t < gs.tokens; ++t)
    for (std::int64_t h = 0; h < gs.heads; ++h)
      for (std::int64_t c = 0; c < gs.head_dim; ++c) {
        const auto hs = static_cast<std::size_t>(h);
        expected[static_cast<std::size_t>(gd.at(t, h, c))] =
            stored_as<D>(value_of(src[static_cast<std::size_t>(gs.at(t, h, c))], ss[hs]), ds[hs]);
      }
  for (Isa isa : available_isas()) {
    ScopedIsa scoped(isa);
    auto out = canaries<D>(gd);
    convert(scaled(gs.view<const S>(src), ss, true), scaled(gd.view<D>(out), ds, true));
    for (std::size_t i = 0; i < out.size(); ++i)
      ASSERT_TRUE(same_element(out[i], expected[i])) << isa_name(isa) << " element " << i;
  }
}

TEST(Convert, EveryPairMatchesTheDefinitions) {
  for_each_conversion_type([](auto s) {
    for_each_conversion_type(
        [](auto d) { expect_convert_matches_definitions<decltype(s), decltype(d)>(); });
  });
}

// Reading an FP8 cache back: every finite code, dequantised to float and
// quantised again with the same scale, is the same code, on every path.
template <class F>
void expect_fp8_round_trip() {
  std::vector<F> codes, back(256);
  for (int c = 0; c < 256; ++c) {
    const F code = F::from_bits(static_cast<std::uint8_t>(c));
    if (std::isfinite(static_cast<float>(code))) codes.push_back(code);
  }
  const auto n = static_cast<std::int64_t>(codes.size());
  for (Isa isa : available_isas()) {
    ScopedIsa scoped(isa);
    std::vector<float> wide(codes.size());
    convert(token_major_view(codes.data(), 1, 1, n).with_scale(0.37f),
            token_major_view(wide.data(), 1, 1, n));
    convert(token_major_view(wide.data(), 1, 1, n),
            token_major_view(back.data(), 1, 1, n).with_scale(0.37f));
    for (std::size_t i = 0; i < codes.size(); ++i) {
      ASSERT_EQ(wide[i], static_cast<float>(codes[i]) * 0.37f) << isa_name(isa);
      ASSERT_EQ(back[i].bits(), codes[i].bits())
          << isa_name(isa) << " code " << int(codes[i].bits());
    }
  }
}

TEST(Convert, Fp8CodesRoundTripThroughFloat) {
  expect_fp8_round_trip<float8_e4m3fn>();
  expect_fp8_round_trip<float8_e5m2>();
}

// Bad calls: rejected naming the parameter and value, every buffer left as
// it was.
struct Canvas {
  static constexpr std::int64_t kT = 4, kH = 2, kD = 16;
  std::vector<float> x = random_values<float>(kT * kH * kD, 1),
                     k = random_values<float>(kT * kD, 2);
  std::vector<Eigen::bfloat16> out = random_values<Eigen::bfloat16>(kT * kH * kD, 3);
  std::vector<Eigen::half> k_out = random_values<Eigen::half>(kT * kD, 4);
  std::vector<float8_e4m3fn> fp8 = std::vector<float8_e4m3fn>(kT * kH * kD, float8_e4m3fn(1.0f));
  float scales[2] = {0.5f, 0.0f};

  HeadView<float> xv(std::int64_t tokens = kT, std::int64_t heads = kH, std::int64_t dim = kD) {
    return token_major_view(x.data(), tokens, heads, dim);
  }
  HeadView<Eigen::bfloat16> outv(std::int64_t tokens = kT, std::int64_t heads = kH,
                                 std::int64_t dim = kD) {
    return token_major_view(out.data(), tokens, heads, dim);
  }
  HeadView<float> kv(std::int64_t tokens = kT) { return token_major_view(k.data(), tokens, 1, kD); }
  HeadView<Eigen::half> k_outv() { return token_major_view(k_out.data(), kT, 1, kD); }
  HeadView<float8_e4m3fn> fp8v() { return token_major_view(fp8.data(), kT, kH, kD); }
  bool same(const Canvas& o) const {
    return bytes_equal(x, o.x) && bytes_equal(k, o.k) && bytes_equal(out, o.out) &&
           bytes_equal(k_out, o.k_out) && bytes_equal(fp8, o.fp8);
  }
};

using BadCall = ropekit_test::BadCall<Canvas>;

const Rope<scaling::Default> kRope(RotaryDims(16), scaling::Default(10000.0));
const Positions kAt = Positions::starting_at(3);

std::vector<BadCall> rows() {
  return {
      {"dst_aliases_src_bytes",
       {"dst = ", "overlaps src"},
       [](Canvas& c) {
         auto* alias = reinterpret_cast<Eigen::bfloat16*>(c.x.data());
         rotate_into(kRope, c.xv(), token_major_view(alias, 4, 2, 16), kAt);
       }},
      {"dst_is_src",
       {"dst = ", "overlaps src"},
       [](Canvas& c) { rotate_into(kRope, c.xv(), c.xv(), kAt); }},
      {"dst_head_dim",
       {"dst.head_dim = 8"},
       [](Canvas& c) { rotate_into(kRope, c.xv(), c.outv(4, 2, 8), kAt); }},
      {"dst_tokens",
       {"dst.tokens = 3", "src.tokens = 4"},
       [](Canvas& c) { rotate_into(kRope, c.xv(), c.outv(3), kAt); }},
      {"dst_heads",
       {"dst.heads = 1", "src.heads = 2"},
       [](Canvas& c) { rotate_into(kRope, c.xv(), c.outv(4, 1), kAt); }},
      {"src_head_dim",
       {"src.head_dim = 8", "head_dim = 16"},
       [](Canvas& c) { rotate_into(kRope, c.xv(4, 2, 8), c.outv(4, 2, 8), kAt); }},
      {"fp8_dst_head_scale_zero",
       {"dst.head_scales[1] = 0"},
       [](Canvas& c) { rotate_into(kRope, c.xv(), c.fp8v().with_head_scales(c.scales), kAt); }},
      {"fp8_dst_head_scale_nan",
       {"dst.head_scales[0] = nan"},
       [](Canvas& c) {
         c.scales[0] = std::nanf("");
         c.scales[1] = 1.0f;
         rotate_into(kRope, c.xv(), c.fp8v().with_head_scales(c.scales), kAt);
       }},
      {"fp8_dst_scale_negative",
       {"scale = -1"},
       [](Canvas& c) { rotate_into(kRope, c.xv(), c.fp8v().with_scale(-1.0f), kAt); }},
      {"positions_count",
       {"positions count = 2"},
       [](Canvas& c) {
         const std::int32_t ids[2] = {1, 2};
         rotate_into(kRope, c.xv(), c.outv(), Positions(ids, 2));
       }},
      {"position_negative",
       {"position id [2] = -5"},
       [](Canvas& c) {
         const std::int64_t ids[4] = {1, 2, -5, 3};
         rotate_into(kRope, c.xv(), c.outv(), Positions(ids, 4));
       }},
      {"k_out_overlaps_q_out",
       {"k_out = ", "overlaps q_out"},
       [](Canvas& c) {
         auto* alias = reinterpret_cast<Eigen::half*>(c.out.data());
         rotate_into(kRope, c.xv(), c.outv(), c.kv(), token_major_view(alias, 4, 1, 16), kAt);
       }},
      {"k_out_overlaps_q",
       {"k_out = ", "overlaps q"},
       [](Canvas& c) {
         auto* alias = reinterpret_cast<Eigen::half*>(c.x.data());
         rotate_into(kRope, c.xv(), c.outv(), c.kv(), token_major_view(alias, 4, 1, 16), kAt);
       }},
      {"pair_k_tokens",
       {"k.tokens = 3", "q.tokens = 4"},
       [](Canvas& c) {
         rotate_into(kRope, c.xv(), c.outv(), c.kv(3), token_major_view(c.k_out.data(), 3, 1, 16),
                     kAt);
       }},
      {"table_pairs",
       {"table pairs = 8", "rotary_dim / 2 = 4"},
       [](Canvas& c) {
         rotate_into<neox>(kRope.table(), RotaryDims(16, 8), c.xv(), c.outv(), kAt);
       }},
      {"any_rope_head_dim",
       {"src.head_dim = 8"},
       [](Canvas& c) {
         const AnyRope any(RotaryDims(16), gptj, scaling::Default(10000.0));
         rotate_into(any, c.xv(4, 2, 8), c.outv(4, 2, 8), kAt);
       }},
      {"convert_head_dim",
       {"dst.head_dim = 8", "src.head_dim = 16"},
       [](Canvas& c) { convert(c.xv(), c.outv(8, 2, 8)); }},
      {"convert_head_dim_one",
       {"src.head_dim = 1"},
       [](Canvas& c) { convert(c.xv(4, 2, 1), c.outv(4, 2, 1)); }},
      {"convert_overlap",
       {"dst = ", "overlaps src"},
       [](Canvas& c) {
         auto* alias = reinterpret_cast<Eigen::bfloat16*>(c.x.data()) + 8;
         convert(c.xv(), token_major_view(alias, 4, 2, 16));
       }},
      {"convert_tokens",
       {"dst.tokens = 2", "src.tokens = 4"},
       [](Canvas& c) { convert(c.xv(), c.outv(2, 4, 16)); }},
      {"convert_fp8_src_head_scale_inf",
       {"src.head_scales[0] = inf"},
       [](Canvas& c) {
         c.scales[0] = std::numeric_limits<float>::infinity();
         convert(c.fp8v().with_head_scales(c.scales), c.outv());
       }},
  };
}

class RotateIntoBadInput : public ::testing::TestWithParam<BadCall> {};

// Rows may edit the scales they pass; the buffers must be as they were.
TEST_P(RotateIntoBadInput, RejectedNamingTheParameterAndWritingNothing) {
  expect_rejected_writing_nothing(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Rows, RotateIntoBadInput, ::testing::ValuesIn(rows()),
                         bad_call_name<Canvas>);

}  // namespace
