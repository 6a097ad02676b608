// SPDX-License-Identifier: Apache-2.0
// Re-table (`retable`, `TableChange`): cached keys moved from one table to
// another in one pass must equal undoing the old table and applying the new
// one, and a fresh rotation with the new table (dynamic NTK growth,
// LongRoPE's short -> long switch, a change of attention factor, M-RoPE);
// its angle must be exact against long double at every position. The table
// of invalid calls at the end covers K-shift and re-table: each throws
// naming the parameter and leaves every buffer unchanged.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "geometry_util.hpp"
#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;
namespace s = ropekit::scaling;

constexpr std::int64_t kTokens = 6, kHeads = 2;
const std::int64_t kIds[kTokens] = {0, 1, 4095, 131071, 1000003, 2147483647};
const std::int64_t kMultiIds[3 * kTokens] = {0, 1, 4095, 131071, 1000003, 2147483647,  // temporal
                                             0, 3, 4000, 5,      17,      2147483000,  // height
                                             0, 2, 4090, 9,      1000000, 12};         // width

struct TablePair {
  std::string name;
  FrequencyTable from, to;
  Positions positions;
};

template <Layout L>
std::vector<TablePair> table_pairs(const RotaryDims& dims) {
  std::vector<TablePair> pairs;
  const Positions ids(kIds, kTokens);
  const Rope<s::DynamicNtk, L> dynamic(dims, s::DynamicNtk(4.0, 64, 10000.0));
  pairs.push_back({"dynamic_ntk_growth", dynamic.table_for(64), dynamic.table_for(100000), ids});
  s::LongRope::Params p;
  for (std::int64_t j = 0; j < dims.pairs(); ++j) {
    p.short_factor.push_back(1.0 + 0.05 * static_cast<double>(j));
    p.long_factor.push_back(1.0 + 3.0 * static_cast<double>(j) / static_cast<double>(dims.pairs()));
  }
  p.original_max_position_embeddings = 4096;
  p.max_position_embeddings = 131072;
  const Rope<s::LongRope, L> longrope(dims, s::LongRope(p));
  pairs.push_back({"longrope_short_to_long", longrope.table_for(s::LongRope::Factors::short_factors),
                   longrope.table_for(s::LongRope::Factors::long_factors), ids});
  const FrequencyTable plain = Rope<s::Default, L>(dims, s::Default(10000.0)).table();
  const FrequencyTable yarn = Rope<s::Yarn, L>(dims, s::Yarn(4.0, 4096, 10000.0)).table();
  pairs.push_back({"default_to_yarn", plain, yarn, ids});
  pairs.push_back({"yarn_to_default", yarn, plain, ids});
  const std::int64_t third = dims.pairs() / 3;
  const s::Mrope<>::sections_type sections = {dims.pairs() - 2 * third, third, third};
  pairs.push_back({"mrope_default_to_yarn",
                   Rope<s::Mrope<>, L>(dims, s::Mrope<>(sections, s::Default(1e6))).table(),
                   Rope<s::Mrope<s::Yarn>, L>(dims, s::Mrope<s::Yarn>(sections, s::Yarn(4.0, 4096, 1e6))).table(),
                   Positions::multi_axis(kMultiIds, 3, kTokens, kTokens)});
  // A zero-frequency tail (Gemma 4's proportional RoPE) in one table or
  // both; a vision tower's base change, per-axis pairing in two parts.
  const FrequencyTable quarter = Rope<s::Proportional, L>(dims, s::Proportional(0.25, 1e4)).table();
  pairs.push_back({"proportional_base_change", quarter,
                   Rope<s::Proportional, L>(dims, s::Proportional(0.25, 1e6)).table(), ids});
  pairs.push_back({"default_to_proportional", plain, quarter, ids});
  pairs.push_back({"vision_per_axis_base_change",
                   Rope<s::Vision2d, L>(dims, s::Vision2d::gemma4(100.0)).table(),
                   Rope<s::Vision2d, L>(dims, s::Vision2d::gemma4(1e4)).table(),
                   Positions::multi_axis(kMultiIds, 2, kTokens, kTokens)});
  return pairs;
}

// retable vs inverse-then-rotate vs a fresh rotation: each side is at most
// three rotations whose cos/sin are within ~6e-8 of exact and whose outputs
// round to T, so they agree within 2e-6 of the pair's magnitude times m_to,
// plus four roundings of T. In double the tables' own angle error at 2^31
// (each table's turns are rounded once in long double) is what remains.
template <class T>
double agreement_bound() {
  if constexpr (std::is_same_v<T, double>) return 4 * cos_sin_error(2147483647.0);
  else return 2e-6 + 4 * (std::is_same_v<T, float> ? 0.0 : unit_roundoff<T>());
}

template <class T, Layout L>
void expect_retable_agrees(const TablePair& pair, const RotaryDims& dims, const std::string& what) {
  SCOPED_TRACE(pair.name + " " + what + " " + storage_name<T>() + " " + layout_name(L));
  const std::int64_t d = dims.head_dim();
  const auto input = random_values<T>(static_cast<std::size_t>(kTokens * kHeads * d), 31);
  const auto view = [&](std::vector<T>& x) { return token_major_view(x.data(), kTokens, kHeads, d); };
  std::vector<T> cached = input;
  rotate<L>(pair.from, dims, view(cached), pair.positions);
  std::vector<T> moved = cached, two_pass = cached, fresh = input, by_tables = cached, runtime = cached;
  const TableChange change(pair.from, pair.to);
  retable<L>(change, dims, view(moved), pair.positions);
  retable<L>(pair.from, pair.to, dims, view(by_tables), pair.positions);
  retable(pair.from, pair.to, dims, L, view(runtime), pair.positions);
  ASSERT_TRUE(bytes_equal(moved, by_tables));
  ASSERT_TRUE(bytes_equal(moved, runtime));
  rotate_inverse<L>(pair.from, dims, view(two_pass), pair.positions);
  rotate<L>(pair.to, dims, view(two_pass), pair.positions);
  rotate<L>(pair.to, dims, view(fresh), pair.positions);
  const double m = pair.to.attention_factor();
  EXPECT_DOUBLE_EQ(change.scale(), m / pair.from.attention_factor());
  const std::int64_t half = dims.pairs(), parts = pair.to.half_split_parts();
  for (std::int64_t t = 0; t < kTokens; ++t)
    for (std::int64_t h = 0; h < kHeads; ++h) {
      const std::int64_t base = (t * kHeads + h) * d;
      for (std::int64_t j = 0; j < half; ++j) {
        const auto [c0, c1] = pair_channels(L, dims, j, parts);
        const auto i0 = static_cast<std::size_t>(base + c0), i1 = static_cast<std::size_t>(base + c1);
        const double bound = agreement_bound<T>() * m *
                             (std::fabs(to_double(input[i0])) + std::fabs(to_double(input[i1])));
        for (std::size_t i : {i0, i1}) {
          ASSERT_NEAR(to_double(moved[i]), to_double(fresh[i]), bound) << "t=" << t << " j=" << j;
          ASSERT_NEAR(to_double(moved[i]), to_double(two_pass[i]), bound) << "t=" << t << " j=" << j;
        }
      }
      for (std::int64_t c = 0; c < d; ++c) {
        if (c >= dims.offset() && c < dims.offset() + dims.rotary_dim()) continue;
        ASSERT_EQ(std::memcmp(&moved[static_cast<std::size_t>(base + c)],
                              &input[static_cast<std::size_t>(base + c)], sizeof(T)), 0);
      }
    }
}

template <Layout L>
void expect_retable_agrees_everywhere(const RotaryDims& dims) {
  for (const TablePair& pair : table_pairs<L>(dims))
    for (Isa isa : available_isas()) {
      const ScopedIsa scoped(isa);
      const std::string what = std::string("isa=") + isa_name(isa);
      expect_retable_agrees<float, L>(pair, dims, what);
      expect_retable_agrees<Eigen::half, L>(pair, dims, what);
      expect_retable_agrees<Eigen::bfloat16, L>(pair, dims, what);
      expect_retable_agrees<double, L>(pair, dims, what);
    }
}

TEST(Retable, EqualsInverseThenRotateAndFreshRotationHalfSplit) {
  expect_retable_agrees_everywhere<neox>(RotaryDims(70, 64));
}
TEST(Retable, EqualsInverseThenRotateAndFreshRotationInterleaved) {
  expect_retable_agrees_everywhere<gptj>(RotaryDims(70, 64));
}
// A rotated slice in the middle of the head (channels 4..67 of 70).
TEST(Retable, RotatedSliceAtAnOffset) {
  expect_retable_agrees_everywhere<neox>(RotaryDims(70, 64, 4));
  expect_retable_agrees_everywhere<gptj>(RotaryDims(70, 64, 4));
}

// Keys (1, 0) in every pair moved between two hand-made tables: each pair
// then holds (m_to / m_from) * (cos, sin) of p * (w_to - w_from), checked
// against long double at positions up to 2^31 - 1, with differences of
// either sign up to pi in magnitude.
template <class T>
double retable_probe_error(const FrequencyTable& from, const FrequencyTable& to,
                           const std::vector<long double>& w_from, const std::vector<long double>& w_to,
                           long double scale) {
  const std::int64_t d = 2 * from.pairs();
  const std::int64_t ids[] = {0, 1, 3, 4095, 1048575, 16777217, 2147483646, 2147483647};
  const std::int64_t tokens = std::size(ids);
  std::vector<T> x(static_cast<std::size_t>(tokens * d), T(0.0f));
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t j = 0; j < d / 2; ++j) x[static_cast<std::size_t>(t * d + 2 * j)] = T(1.0f);
  retable<gptj>(from, to, RotaryDims(d), token_major_view(x.data(), tokens, 1, d), Positions(ids, tokens));
  double worst = 0.0;
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t j = 0; j < d / 2; ++j) {
      const auto k = static_cast<std::size_t>(j);
      const long double angle = static_cast<long double>(ids[t]) * (w_to[k] - w_from[k]);
      const auto i = static_cast<std::size_t>(t * d + 2 * j);
      worst = std::max(worst, std::fabs(to_double(x[i]) - static_cast<double>(scale * std::cos(angle))));
      worst = std::max(worst, std::fabs(to_double(x[i + 1]) - static_cast<double>(scale * std::sin(angle))));
    }
  return worst / static_cast<double>(scale);
}

TEST(Retable, ExactAgainstLongDoubleOnEveryPath) {
  const std::vector<long double> w_from = {max_inv_freq, 0.0L, 1.0L,   0.3L,  1e-4L, 2.5L, 1e-9L, 0.75L};
  const std::vector<long double> w_to = {0.0L, max_inv_freq, 0.999L, 0.31L, 2e-4L, 2.5L, 3e-9L, 0.25L};
  Frequencies f_from, f_to;
  f_from.inv_freq = w_from;
  f_from.attention_factor = 1.25;
  f_to.inv_freq = w_to;
  f_to.attention_factor = 0.8;
  const FrequencyTable from(RotaryDims(16), f_from), to(RotaryDims(16), f_to);
  const long double scale = 0.8L / 1.25L;
  for (Isa isa : available_isas()) {
    const ScopedIsa scoped(isa);
    EXPECT_LE(retable_probe_error<float>(from, to, w_from, w_to, scale), 2e-7) << isa_name(isa);
    EXPECT_LE(retable_probe_error<Eigen::half>(from, to, w_from, w_to, scale), 0x1p-11 + 2e-7) << isa_name(isa);
  }
  EXPECT_LE(retable_probe_error<double>(from, to, w_from, w_to, scale), 1e-9);
  // Back again: the change the other way round undoes it.
  EXPECT_LE(retable_probe_error<float>(to, from, w_to, w_from, 1.0L / scale), 2e-7);
}

// ---------------------------------------------------------------------------
// Invalid calls to shift and retable: one row each, the parameter named, no
// buffer changed (keys in float, bfloat16 and FP8 between canaries).

struct Keys {
  static constexpr std::int64_t kTokens = 4, kHeads = 2, kDim = 16, kPad = 8;
  std::vector<float> f32 = make<float>(1);
  std::vector<Eigen::bfloat16> bf16 = make<Eigen::bfloat16>(2);
  std::vector<float8_e4m3fn> fp8 = make<float8_e4m3fn>(3);

  template <class T>
  static std::vector<T> make(unsigned seed) {
    auto buffer = random_values<T>(static_cast<std::size_t>(kTokens * kHeads * kDim + 2 * kPad), seed);
    std::fill_n(buffer.begin(), kPad, T(-99.0f));
    std::fill_n(buffer.end() - kPad, kPad, T(-99.0f));
    return buffer;
  }
  template <class T>
  static HeadView<T> view(std::vector<T>& buffer) {
    return token_major_view(buffer.data() + kPad, kTokens, kHeads, kDim);
  }
  HeadView<float> k() { return view(f32); }
  HeadView<Eigen::bfloat16> k16() { return view(bf16); }
  HeadView<float8_e4m3fn> k8() { return view(fp8); }
  bool operator==(const Keys& o) const {
    return bytes_equal(f32, o.f32) && bytes_equal(bf16, o.bf16) && bytes_equal(fp8, o.fp8);
  }
};

struct Row {
  const char* name;
  std::vector<const char*> needles;
  std::function<void(Keys&)> call;
};

void PrintTo(const Row& row, std::ostream* out) { *out << row.name; }

const RotaryDims kDims(Keys::kDim);
const FrequencyTable kTable = Rope<s::Default>(kDims, s::Default(10000.0)).table();
const FrequencyTable kYarn = Rope<s::Yarn>(kDims, s::Yarn(4.0, 4096)).table();
const FrequencyTable kMrope = Rope<s::Mrope<>>(kDims, s::Mrope<>({2, 3, 3}, s::Default(1e6))).table();
const FrequencyTable kMropeOther = Rope<s::Mrope<>>(kDims, s::Mrope<>({4, 2, 2}, s::Default(1e6))).table();
const FrequencyTable kWide = Rope<s::Default>(RotaryDims(32), s::Default(10000.0)).table();

std::vector<Row> rows() {
  static const std::int64_t past[] = {0, 2147483648LL, 0, 0};
  static const std::int64_t below[] = {0, 0, -2147483648LL, 0};
  static const std::int64_t most[] = {2147483647, -2147483647, 0, 0};
  static const std::int64_t negative[] = {3, -1, 0, 0};
  static const std::int64_t two_axes[] = {1, 2, 3, 4, 1, 2, 3, 4};
  static const float bad_scales[] = {0.5f, 0.0f};
  const Positions deltas(most, 4);
  return {
      {"shift_delta_past_max", {"position delta [1] = 2147483648", "[-2147483647, 2147483647]"},
       [](Keys& k) { shift<neox>(kTable, kDims, k.k(), Positions(past, 4)); }},
      {"shift_delta_below_min", {"position delta [2] = -2147483648"},
       [](Keys& k) { shift<gptj>(kTable, kDims, k.k16(), Positions(below, 4)); }},
      {"shift_constant_past_max", {"constant position = 2147483648"},
       [](Keys& k) { shift<neox>(kTable, kDims, k.k(), Positions::constant(2147483648LL)); }},
      {"shift_constant_below_min", {"constant position = -2147483648"},
       [](Keys& k) { shift<neox>(kTable, kDims, k.k(), Positions::constant(-2147483648LL)); }},
      {"shift_deltas_count", {"positions count = 3", "number of tokens, 4"},
       [deltas](Keys& k) { shift<neox>(kTable, kDims, k.k(), deltas.token_range(0, 3)); }},
      {"shift_head_dim", {"keys.head_dim = 16", "head_dim = 32"},
       [](Keys& k) { shift<neox>(kWide, RotaryDims(32), k.k(), Positions::constant(1)); }},
      {"shift_table_pairs", {"table pairs = 16", "rotary_dim / 2 = 8"},
       [](Keys& k) { shift<neox>(kWide, kDims, k.k(), Positions::constant(1)); }},
      {"shift_position_axes", {"positions axes = 2", "3 position axes"},
       [](Keys& k) { shift<neox>(kMrope, kDims, k.k(), Positions::multi_axis(two_axes, 2, 4, 4)); }},
      {"shift_layout", {"layout = 7"},
       [](Keys& k) { shift(kTable, kDims, static_cast<Layout>(7), k.k(), Positions::constant(1)); }},
      {"shift_fp8_head_scale", {"keys.head_scales[1] = 0", "finite and positive"},
       [](Keys& k) { shift<neox>(kTable, kDims, k.k8().with_head_scales(bad_scales), Positions::constant(1)); }},
      {"shift_keys_rope_delta", {"position delta [1] = 2147483648"},
       [](Keys& k) {
         const Rope<s::DynamicNtk> rope(kDims, s::DynamicNtk(2.0, 64));
         shift_keys(rope, k.k(), Positions(past, 4));
       }},
      {"shift_keys_any_rope_head_dim", {"keys.head_dim = 16"},
       [](Keys& k) {
         const AnyRope any(RotaryDims(32), Layout::interleaved, s::Linear(2.0));
         shift_keys(any, k.k16(), Positions::constant(-3));
       }},
      {"retable_pairs", {"to pairs = 16", "from pairs = 8"},
       [](Keys& k) { retable<neox>(kTable, kWide, kDims, k.k(), Positions::starting_at(0)); }},
      {"retable_axes", {"to axes = 3", "from axes = 1"},
       [](Keys& k) { retable<neox>(kTable, kMrope, kDims, k.k(), Positions::starting_at(0)); }},
      {"retable_position_axis", {"to position_axis[2] = 1", "from position_axis[2] = 0"},
       [](Keys& k) { retable<gptj>(kMropeOther, kMrope, kDims, k.k(), Positions::starting_at(0)); }},
      {"retable_half_split_parts", {"to half_split_parts = 1", "from half_split_parts = 2"},
       [](Keys& k) {
         retable<neox>(Rope<s::Vision2d>(kDims, s::Vision2d::gemma4(1e4)).table(),
                       Rope<s::Vision2d>(kDims, s::Vision2d::llama4(1e4)).table(), kDims, k.k(),
                       Positions::starting_at(0));
       }},
      {"retable_dims", {"table pairs = 8", "rotary_dim / 2 = 16"},
       [](Keys& k) { retable<neox>(kTable, kYarn, RotaryDims(32), k.k(), Positions::starting_at(0)); }},
      {"retable_negative_position", {"position id [1] = -1", "[0, 2147483647]"},
       [](Keys& k) { retable<neox>(kTable, kYarn, kDims, k.k16(), Positions(negative, 4)); }},
      {"retable_negative_constant", {"constant position = -5", "[0, 2147483647]"},
       [](Keys& k) { retable<neox>(kTable, kYarn, kDims, k.k(), Positions::constant(-5)); }},
      {"retable_past_max", {"start position = 2147483647", "plus 4 tokens"},
       [](Keys& k) { retable<gptj>(kTable, kYarn, kDims, k.k8().with_scale(0.1f), Positions::starting_at(2147483647)); }},
      {"retable_layout", {"layout = 9"},
       [](Keys& k) { retable(TableChange(kTable, kYarn), kDims, static_cast<Layout>(9), k.k(), Positions::starting_at(0)); }},
      {"rotate_negative_constant", {"constant position = -1", "a delta"},
       [](Keys& k) { rotate<neox>(kTable, kDims, k.k(), Positions::constant(-1)); }},
      {"rotate_negative_delta_ids", {"position id [1] = -2147483647"},
       [](Keys& k) { rotate<neox>(kTable, kDims, k.k(), Positions(most, 4)); }},
  };
}

class ShiftRetableBadInput : public ::testing::TestWithParam<Row> {};

TEST_P(ShiftRetableBadInput, RejectedNamingTheParameterAndWritingNothing) {
  const Row& row = GetParam();
  Keys keys;
  const Keys before = keys;
  expect_rejected([&] { row.call(keys); }, row.needles);
  EXPECT_TRUE(keys == before) << "a buffer changed";
}

INSTANTIATE_TEST_SUITE_P(Rows, ShiftRetableBadInput, ::testing::ValuesIn(rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return std::string(info.param.name); });

}  // namespace
