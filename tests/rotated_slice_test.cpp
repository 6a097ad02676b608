// SPDX-License-Identifier: Apache-2.0
// Rotated slices at an offset (RotaryDims(head_dim, rotary_dim, offset):
// vLLM's rope_dim_offset, ggml_rope_set_offset, DeepSeek-V4's last 64 of
// 512 channels): against a long-double oracle, every SIMD path against
// scalar, every entry point; streams that write elsewhere or normalise with
// every new geometry (offsets, proportional pairs, vision parts); and the
// table of bad inputs for everything these geometries add.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "geometry_util.hpp"
#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;
namespace s = ropekit::scaling;

const std::int64_t kIds[] = {0, 1, 4095, 131071, 1000003, 2147483647};
constexpr std::int64_t kTokens = 6;
constexpr std::int64_t kSliceHeads = 3;

struct Slice {
  std::int64_t head_dim, rotary_dim, offset;
};

// DeepSeek-V4 (512, 64, 448); odd offsets; a slice ending at the head's
// end; one pair; slices longer than a vector on every path.
const Slice kSlices[] = {{512, 64, 448}, {96, 32, 64}, {90, 84, 3},  {130, 2, 128},
                         {70, 40, 13},   {64, 64, 0},  {300, 96, 7}, {24, 8, 16}};

template <class T, Layout L>
void check_slice(const Slice& slice) {
  SCOPED_TRACE(std::string(storage_name<T>()) + " " + layout_name(L) + " head_dim=" +
               std::to_string(slice.head_dim) + " rotary_dim=" + std::to_string(slice.rotary_dim) +
               " offset=" + std::to_string(slice.offset));
  const std::int64_t d = slice.head_dim;
  const std::int64_t heads = kSliceHeads;
  const RotaryDims dims(d, slice.rotary_dim, slice.offset);
  EXPECT_EQ(dims.offset(), slice.offset);
  const Rope<s::Default, L> rope(dims, s::Default(10000.0));
  // Frequencies follow the rotary width, not the head or the offset.
  const auto inv_freq = default_inv_freq(10000.0L, slice.rotary_dim);
  const auto pairs = slice_pairs(L, slice.offset, inv_freq);
  const auto input = random_values<T>(static_cast<std::size_t>(kTokens * heads * d), 3);
  std::vector<long double> wide(input.size());
  for (std::size_t i = 0; i < input.size(); ++i) wide[i] = to_double(input[i]);
  const auto oracle = oracle_pairs(wide, kTokens, heads, d, pairs,
                                   {std::vector<std::int64_t>(kIds, kIds + kTokens)});
  const auto rotate_on_path = [&](std::int64_t start) {
    return std::function<void(std::vector<T>&)>([&rope, start, d](std::vector<T>& buffer) {
      rope.apply_q(token_major_view(buffer.data() + start, kTokens, kSliceHeads, d),
                   Positions(kIds, kTokens));
    });
  };
  expect_every_path_matches_oracle<T>(rotate_on_path(0), input, oracle,
                                      rotation_tolerance<T>(4.0, 3.0, 2.2e9));
  const auto padded = random_values<T>(static_cast<std::size_t>(kTokens * heads * d + 1), 4);
  expect_paths_agree<T>(rotate_on_path(1), padded, 1, kTokens, heads, d, pairs, 1.0, "slice");
}

template <class T>
void check_every_slice() {
  for (const Slice& slice : kSlices) {
    check_slice<T, Layout::half_split>(slice);
    check_slice<T, Layout::interleaved>(slice);
  }
}

TEST(RotatedSlice, MatchesOracleOnEveryPath) {
  for_each_storage([](auto zero) { check_every_slice<decltype(zero)>(); });
}

TEST(RotatedSlice, TwoArgumentDimsAreOffsetZero) {
  EXPECT_EQ(RotaryDims(128, 64), RotaryDims(128, 64, 0));
  EXPECT_NE(RotaryDims(128, 64), RotaryDims(128, 64, 2));
  EXPECT_EQ(RotaryDims(128).offset(), 0);
}

// The offset reaches the kernels from every entry point: all give
// Rope::apply's bits, on every path (YaRN: attention factor != 1).
TEST(RotatedSlice, EveryEntryPointRotatesTheSlice) {
  const RotaryDims dims(512, 64, 448);  // DeepSeek-V4
  const s::Yarn yarn(16.0, 65536, 10000.0);
  const Rope<s::Yarn, gptj> rope(dims, yarn);
  const AnyRope any(dims, Layout::interleaved, yarn);
  const std::int64_t tokens = 5, q_heads = 4, k_heads = 1;
  const auto q0 = random_values<float>(static_cast<std::size_t>(tokens * q_heads * 512), 5);
  const auto k0 = random_values<float>(static_cast<std::size_t>(tokens * k_heads * 512), 6);
  const std::int64_t ids[] = {3, 0, 999, 70, 512};
  const Positions positions(ids, tokens);
  for (Isa isa : available_isas()) {
    SCOPED_TRACE(isa_name(isa));
    ScopedIsa scoped(isa);
    auto q = q0, k = k0;
    rope.apply(token_major_view(q.data(), tokens, q_heads, 512),
               token_major_view(k.data(), tokens, k_heads, 512), positions);
    for (std::size_t i = 0; i < q.size(); ++i) {
      if (i % 512 < 448) {
        ASSERT_EQ(q[i], q0[i]) << i;  // the slice only
      }
    }
    const CosSinCache cache(rope.table(), 1000);
    using Call = std::function<void(HeadView<float>, HeadView<float>)>;
    const std::vector<std::pair<const char*, Call>> calls = {
        {"AnyRope", [&](auto qv, auto kv) { any.apply(qv, kv, positions); }},
        {"rotate<gptj>", [&](auto qv, auto kv) { rotate<gptj>(rope.table(), dims, qv, kv, positions); }},
        {"rotate(layout)",
         [&](auto qv, auto kv) { rotate(rope.table(), dims, Layout::interleaved, qv, kv, positions); }},
        {"CosSinCache", [&](auto qv, auto kv) { rotate<gptj>(cache, dims, qv, kv, positions); }},
        {"parallel_apply", [&](auto qv, auto kv) { parallel_apply(rope, qv, kv, positions, 2); }},
        {"parallel_apply(any)", [&](auto qv, auto kv) { parallel_apply(any, qv, kv, positions, 4); }},
    };
    for (const auto& [name, call] : calls) {
      auto q2 = q0, k2 = k0;
      call(token_major_view(q2.data(), tokens, q_heads, 512),
           token_major_view(k2.data(), tokens, k_heads, 512));
      EXPECT_TRUE(bytes_equal(q, q2)) << name;
      EXPECT_TRUE(bytes_equal(k, k2)) << name;
    }
    rope.apply_inverse(token_major_view(q.data(), tokens, q_heads, 512),
                       token_major_view(k.data(), tokens, k_heads, 512), positions);
    for (std::size_t i = 0; i < q.size(); ++i) ASSERT_NEAR(q[i], q0[i], 4e-6) << i;
  }
}

// Streams that write another view, or normalise first, also write the
// channels that do not rotate: with every new geometry, each SIMD path
// matches scalar, and the destination's unrotated channels are the source's
// (normalised when the stream normalises).
struct StreamCase {
  const char* name;
  RotaryDims dims;
  FrequencyTable table;
  Layout layout;
};

std::vector<StreamCase> stream_cases() {
  const auto table_of = [](const RotaryDims& dims, const auto& policy) {
    return FrequencyTable(dims, policy.frequencies(dims));
  };
  const RotaryDims slice(90, 40, 13), whole(128), vision(72);
  return {
      {"slice_neox", slice, table_of(slice, s::Yarn(4.0, 4096, 1e4)), Layout::half_split},
      {"slice_gptj", slice, table_of(slice, s::Yarn(4.0, 4096, 1e4)), Layout::interleaved},
      {"proportional", whole, table_of(whole, s::Proportional(0.25, 1e6)), Layout::half_split},
      {"vision_gemma4", vision, table_of(vision, s::Vision2d::gemma4(100.0)), Layout::half_split},
      {"vision_qwen2_vl", vision, table_of(vision, s::Vision2d::qwen2_vl()), Layout::half_split},
  };
}

template <Layout L, class Stream>
void run_stream(const StreamCase& c, const Stream& stream, const Positions& positions) {
  const detail::StreamNames names[] = {{"src", "dst"}};
  detail::execute_streams<detail::native_tag, L>(
      detail::TableSource{c.table, detail::Direction::forward}, c.dims, positions, 1,
      std::make_tuple(stream), names);
}

template <Layout L>
void check_streams(const StreamCase& c) {
  SCOPED_TRACE(c.name);
  const std::int64_t tokens = 3, heads = 5, d = c.dims.head_dim();
  const std::int64_t rows[] = {2, 40, 7, 3000, 1, 65};  // [axis][token] for 2-axis tables
  const Positions positions = c.table.axes() == 2 ? Positions::multi_axis(rows, 2, tokens, 3)
                                                  : Positions(rows, tokens);
  const auto src = random_values<float>(static_cast<std::size_t>(tokens * heads * d), 8);
  const auto weight = random_values<float>(static_cast<std::size_t>(d), 9);
  using OutOfPlace = detail::Stream<HeadView<const float>, HeadView<float>>;
  using Normalising = detail::Stream<HeadView<float>, detail::InPlace, true, true>;
  // Both streams on path `isa`: src rotated into `out`, and `norm` (a copy
  // of src) normalised and rotated in place.
  const auto run_both = [&](Isa isa, std::vector<float>& out, std::vector<float>& norm) {
    ScopedIsa scoped(isa);
    run_stream<L>(c, OutOfPlace{token_major_view(src.data(), tokens, heads, d),
                                token_major_view(out.data(), tokens, heads, d), {}},
                  positions);
    run_stream<L>(c, Normalising{token_major_view(norm.data(), tokens, heads, d), {},
                                 detail::NormSpec{weight.data(), 1e-6f, true}},
                  positions);
  };
  std::vector<float> out_ref(src.size(), -3.0f), norm_ref = src;
  run_both(Isa::scalar, out_ref, norm_ref);
  // Out of place is the in-place rotation written elsewhere, pass-through
  // channels included: the same bits on the scalar path.
  std::vector<float> in_place = src;
  {
    ScopedIsa scoped(Isa::scalar);
    rotate(c.table, c.dims, L, token_major_view(in_place.data(), tokens, heads, d), positions);
  }
  ASSERT_TRUE(bytes_equal(out_ref, in_place));
  // Normalising is RMSNorm over the whole head (Gemma's 1 + w), then the
  // rotation: every channel normalised, rotated or not.
  std::vector<float> normalised = src;
  for (std::int64_t head = 0; head < tokens * heads; ++head) {
    float* x = normalised.data() + head * d;
    double sum = 0.0;
    for (std::int64_t i = 0; i < d; ++i) sum += static_cast<double>(x[i]) * x[i];
    const auto r = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(d) + 1e-6));
    for (std::int64_t i = 0; i < d; ++i) x[i] = (x[i] * r) * (weight[static_cast<std::size_t>(i)] + 1.0f);
  }
  {
    ScopedIsa scoped(Isa::scalar);
    rotate(c.table, c.dims, L, token_major_view(normalised.data(), tokens, heads, d), positions);
  }
  for (std::size_t i = 0; i < src.size(); ++i)
    ASSERT_NEAR(norm_ref[i], normalised[i], 1e-5 * (1.0 + std::fabs(normalised[i]))) << i;
  for (Isa isa : simd_isas()) {
    SCOPED_TRACE(isa_name(isa));
    std::vector<float> out(src.size(), -3.0f), norm = src;
    run_both(isa, out, norm);
    for (std::size_t i = 0; i < src.size(); ++i) {
      ASSERT_NEAR(out[i], out_ref[i], 2e-6) << "out of place " << i;
      ASSERT_NEAR(norm[i], norm_ref[i], 2e-5) << "normalised " << i;
    }
  }
}

TEST(RotatedSlice, StreamsWritePassThroughChannelsForEveryGeometry) {
  for (const StreamCase& c : stream_cases()) {
    if (c.layout == Layout::half_split) check_streams<Layout::half_split>(c);
    else check_streams<Layout::interleaved>(c);
  }
}

// --- bad input ---------------------------------------------------------------

// A 4-token, 2-head, 16-channel float buffer between canaries; each row may
// rotate it and must leave it byte for byte as it was.
struct Canvas {
  std::vector<float> q = random_values<float>(4 * 2 * 16 + 16, 11);
  HeadView<float> view() { return token_major_view(q.data() + 8, 4, 2, 16); }
};

struct BadCall {
  const char* name;
  std::vector<const char*> needles;
  std::function<void(Canvas&)> call;
};

void PrintTo(const BadCall& row, std::ostream* out) { *out << row.name; }

constexpr std::int64_t kMax64 = std::numeric_limits<std::int64_t>::max();

Frequencies with_parts(int parts) {
  Frequencies f;
  f.inv_freq.assign(8, 0.5L);
  f.half_split_parts = parts;
  return f;
}

std::vector<BadCall> bad_rows() {
  return {
      {"offset_negative", {"offset = -2", "must not be negative"},
       [](Canvas&) { RotaryDims(16, 8, -2); }},
      {"offset_past_head", {"offset = 9", "rotary_dim = 8", "head_dim = 16"},
       [](Canvas&) { RotaryDims(16, 8, 9); }},
      {"offset_huge", {"offset = 9223372036854775807"}, [](Canvas&) { RotaryDims(16, 8, kMax64); }},
      {"offset_odd_rotary_still_checked", {"rotary_dim = 7"}, [](Canvas&) { RotaryDims(16, 7, 1); }},
      {"offset_view_head_dim", {"q.head_dim = 16", "head_dim = 32"},
       [](Canvas& c) {
         Rope<s::Default>(RotaryDims(32, 8, 24)).apply_q(c.view(), Positions::starting_at(0));
       }},
      {"proportional_factor_zero", {"partial_rotary_factor = 0", "(0, 1]"},
       [](Canvas&) { s::Proportional(0.0); }},
      {"proportional_factor_negative", {"partial_rotary_factor = -0.25"},
       [](Canvas&) { s::Proportional(-0.25); }},
      {"proportional_factor_above_one", {"partial_rotary_factor = 1.0000000000000002"},
       [](Canvas&) { s::Proportional(1.0000000000000002); }},
      {"proportional_factor_nan", {"partial_rotary_factor = nan"},
       [](Canvas&) { (void)s::Proportional(kNaN); }},
      {"proportional_factor_inf", {"partial_rotary_factor = inf"},
       [](Canvas&) { (void)s::Proportional(kInf); }},
      {"proportional_base_zero", {"base = 0"}, [](Canvas&) { s::Proportional(0.5, 0.0); }},
      {"proportional_scale_negative", {"factor = -2"}, [](Canvas&) { s::Proportional(0.5, 1e4, -2.0); }},
      {"proportional_base_tiny", {"base = 1e-10", "inv_freq[1]"},
       [](Canvas&) { Rope<s::Proportional>(RotaryDims(16), s::Proportional(0.5, 1e-10)); }},
      {"proportional_scale_tiny", {"factor = 1e-300", "inv_freq[0]"},
       [](Canvas&) { Rope<s::Proportional>(RotaryDims(16), s::Proportional(0.5, 1e4, 1e-300)); }},
      {"vision_rotary_not_multiple_of_4", {"rotary_dim = 14", "multiple of 4"},
       [](Canvas&) { Rope<s::Vision2d>(RotaryDims(16, 14), s::Vision2d::qwen2_vl()); }},
      {"vision_base_nan", {"base = nan"}, [](Canvas&) { s::Vision2d::gemma4(kNaN); }},
      {"vision_base_tiny", {"base = 9.5367431640625e-07", "inv_freq[1]"},
       [](Canvas&) { Rope<s::Vision2d>(RotaryDims(16), s::Vision2d::llama4(0x1p-20)); }},
      {"vision_order", {"vision axis order = 7"},
       [](Canvas&) { s::Vision2d(1e4, static_cast<s::VisionAxisOrder>(7)); }},
      {"vision_pairing", {"vision pairing = 9"},
       [](Canvas&) {
         s::Vision2d(1e4, s::VisionAxisOrder::row_first, static_cast<s::VisionPairing>(9));
       }},
      {"vision_three_position_axes", {"positions axes = 3", "2 position axes"},
       [](Canvas& c) {
         static const std::int64_t ids[12] = {};
         Rope<s::Vision2d>(RotaryDims(16), s::Vision2d::qwen2_vl())
             .apply_q(c.view(), Positions::multi_axis(ids, 3, 4, 4));
       }},
      {"vision_negative_column", {"position id [1] = -1"},
       [](Canvas& c) {
         static const std::int64_t ids[8] = {0, 1, 2, 3, 0, -1, 2, 3};
         Rope<s::Vision2d>(RotaryDims(16), s::Vision2d::gemma4(100.0))
             .apply_q(c.view(), Positions::multi_axis(ids, 2, 4, 4));
       }},
      {"vision_cos_sin_cache", {"table axes = 2"},
       [](Canvas&) { CosSinCache(Rope<s::Vision2d>(RotaryDims(16)).table(), 8); }},
      {"parts_zero", {"half_split_parts = 0"}, [](Canvas&) { FrequencyTable(RotaryDims(16), with_parts(0)); }},
      {"parts_not_dividing", {"half_split_parts = 3", "divide rotary_dim / 2 = 8"},
       [](Canvas&) { FrequencyTable(RotaryDims(16), with_parts(3)); }},
  };
}

class GeometryBadInput : public ::testing::TestWithParam<BadCall> {};

TEST_P(GeometryBadInput, RejectedNamingTheParameterAndWritingNothing) {
  const BadCall& row = GetParam();
  Canvas canvas;
  const std::vector<float> before = canvas.q;
  expect_rejected([&] { row.call(canvas); }, row.needles);
  EXPECT_TRUE(bytes_equal(canvas.q, before)) << "the buffer changed";
}

INSTANTIATE_TEST_SUITE_P(Rows, GeometryBadInput, ::testing::ValuesIn(bad_rows()),
                         [](const ::testing::TestParamInfo<BadCall>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
