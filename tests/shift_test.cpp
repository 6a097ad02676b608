// SPDX-License-Identifier: Apache-2.0
// K-shift (`shift`, `shift_keys`): cached keys re-rotated by a position
// delta in one pass. The angle must come from the delta exactly (checked
// against long double up to |delta| = 2^31 - 1 on every kernel path, which
// exercises the reductions' negative quarter turns, mod 4 in two's
// complement); shifting by a then b must equal shifting by a + b and a fresh
// rotation at the new positions, for every policy, layout and storage type;
// FP8 keys must be the float shift rounded once to FP8 with their scale; the
// Rope and AnyRope forms must use the current table without advancing it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "geometry_util.hpp"
#include "simd_bounds.hpp"
#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

const std::vector<std::int64_t> kDeltas = {
    0,        1,         -1,       2,         -3,          4095,        -4095,
    131071,   -131071,   1048575,  -16777217, 16777217,    2147483645,  -2147483645,
    2147483646, -2147483646, 2147483647, -2147483647};

// Keys (1, 0) in every pair, one token per delta, shifted: pair j of token t
// then holds (cos, sin) of delta_t * w_j as the path formed them, rounded to
// T. Returns the largest error against long double.
enum class DeltaForm { ids64, ids32, constant };

template <class T>
double shift_probe_error(const FrequencyTable& table, const std::vector<long double>& w,
                         DeltaForm form) {
  const std::int64_t d = 2 * table.pairs();
  const auto tokens = static_cast<std::int64_t>(kDeltas.size());
  std::vector<T> x(static_cast<std::size_t>(tokens * d), T(0.0f));
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t j = 0; j < d / 2; ++j) x[static_cast<std::size_t>(t * d + 2 * j)] = T(1.0f);
  const auto keys = token_major_view(x.data(), tokens, 1, d);
  if (form == DeltaForm::ids64) {
    shift<gptj>(table, RotaryDims(d), keys, Positions(kDeltas.data(), tokens));
  } else if (form == DeltaForm::ids32) {
    std::vector<std::int32_t> ids32(kDeltas.begin(), kDeltas.end());
    shift<gptj>(table, RotaryDims(d), keys, Positions(ids32.data(), tokens));
  } else {
    for (std::int64_t t = 0; t < tokens; ++t)
      shift<gptj>(table, RotaryDims(d), keys.token_range(t, 1),
                  Positions::constant(kDeltas[static_cast<std::size_t>(t)]));
  }
  double worst = 0.0;
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t j = 0; j < d / 2; ++j) {
      const long double angle =
          static_cast<long double>(kDeltas[static_cast<std::size_t>(t)]) * w[static_cast<std::size_t>(j)];
      const auto i = static_cast<std::size_t>(t * d + 2 * j);
      worst = std::max(worst, std::fabs(to_double(x[i]) - static_cast<double>(std::cos(angle))));
      worst = std::max(worst, std::fabs(to_double(x[i + 1]) - static_cast<double>(std::sin(angle))));
    }
  return worst;
}

void expect_exact_shifts(const FrequencyTable& table, const std::vector<long double>& w,
                         const std::string& what) {
  for (Isa isa : available_isas()) {
    const ScopedIsa scoped(isa);
    for (DeltaForm form : {DeltaForm::ids64, DeltaForm::ids32, DeltaForm::constant}) {
      SCOPED_TRACE(what + " isa=" + isa_name(isa) + " form=" + std::to_string(static_cast<int>(form)));
      EXPECT_LE(shift_probe_error<float>(table, w, form), 2e-7);
      EXPECT_LE(shift_probe_error<Eigen::half>(table, w, form), 0x1p-12 + 2e-7);
      EXPECT_LE(shift_probe_error<Eigen::bfloat16>(table, w, form), 0x1p-9 + 2e-7);
    }
  }
  EXPECT_LE(shift_probe_error<double>(table, w, DeltaForm::ids64), 1e-9) << what;
}

TEST(ShiftAngles, ExactForEveryDeltaOnEveryPath) {
  for (double base : {0.5, 500.0, 10000.0, 1e6})
    for (std::int64_t d : {64, 128}) {
      const Rope<scaling::Default, gptj> rope{RotaryDims(d), scaling::Default(base)};
      expect_exact_shifts(rope.table(), default_inv_freq(base, d),
                          "base=" + std::to_string(base) + " d=" + std::to_string(d));
    }
}

// The accepted edge, w = pi, where |delta * quarters| passes 2^32.
TEST(ShiftAngles, ExactAtTheLargestAcceptedFrequency) {
  const std::vector<long double> w = {max_inv_freq, max_inv_freq * (1.0L - 0x1p-40L), 3.0L, 1.0L,
                                      0.5L,         1e-3L,                            1e-9L, 0.0L};
  Frequencies f;
  f.inv_freq = w;
  expect_exact_shifts(FrequencyTable(RotaryDims(16), f), w, "edge");
}

// Random keys of 6 tokens x 3 heads, head_dim 52 with 48 rotary channels:
// rotated at p, shifted by a then b, against a shift by a + b and a fresh
// rotation at p + a + b. Every step is a rotation whose cos/sin are within
// ~6e-8 of exact and whose output rounds to T, so four steps (three on one
// side, one on the other) stay within 2e-6 of the pair's magnitude times m,
// plus four roundings of T.
constexpr std::int64_t kTokens = 6, kHeads = 3;
const std::vector<std::int64_t> kStart = {0, 7, 4095, 131071, 1000003, 2147483000};
const std::vector<std::int64_t> kFirst = {5, -7, 100000, -131071, 2000000, -2147483000};
const std::vector<std::int64_t> kSecond = {-5, 2147483647, -4095, 65536, -3000003, 123};

std::vector<std::int64_t> sum(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  std::vector<std::int64_t> s(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) s[i] = a[i] + b[i];
  return s;
}

template <class T>
double composition_bound() {
  if constexpr (std::is_same_v<T, double>) return 1e-12;
  else return 2e-6 + 4 * (std::is_same_v<T, float> ? 0.0 : unit_roundoff<T>());
}

template <class T, Layout L>
void expect_composition(const FrequencyTable& table, const RotaryDims& dims, const std::string& what) {
  SCOPED_TRACE(what + " " + storage_name<T>() + " " + layout_name(L));
  const std::int64_t n = kTokens * kHeads * dims.head_dim();
  const std::vector<T> input = random_values<T>(static_cast<std::size_t>(n), 29);
  const auto view = [&](std::vector<T>& x) { return token_major_view(x.data(), kTokens, kHeads, dims.head_dim()); };
  std::vector<T> fresh = input;
  rotate<L>(table, dims, view(fresh), Positions(kStart.data(), kTokens));
  std::vector<T> twice = fresh, once = fresh, direct = input;
  shift<L>(table, dims, view(twice), Positions(kFirst.data(), kTokens));
  shift<L>(table, dims, view(twice), Positions(kSecond.data(), kTokens));
  const auto total = sum(kFirst, kSecond);
  shift<L>(table, dims, view(once), Positions(total.data(), kTokens));
  const auto target = sum(kStart, total);
  rotate<L>(table, dims, view(direct), Positions(target.data(), kTokens));
  const double m = table.attention_factor();
  const std::int64_t half = dims.pairs();
  for (std::int64_t t = 0; t < kTokens; ++t)
    for (std::int64_t h = 0; h < kHeads; ++h) {
      const std::int64_t base = (t * kHeads + h) * dims.head_dim();
      for (std::int64_t j = 0; j < half; ++j) {
        const auto [c0, c1] = pair_channels(L, dims, j);
        const auto i0 = static_cast<std::size_t>(base + c0), i1 = static_cast<std::size_t>(base + c1);
        const double bound = composition_bound<T>() * m *
                             (std::fabs(to_double(input[i0])) + std::fabs(to_double(input[i1])));
        for (std::size_t i : {i0, i1}) {
          ASSERT_NEAR(to_double(twice[i]), to_double(direct[i]), bound) << "t=" << t << " j=" << j;
          ASSERT_NEAR(to_double(once[i]), to_double(direct[i]), bound) << "t=" << t << " j=" << j;
          ASSERT_NEAR(to_double(twice[i]), to_double(once[i]), bound) << "t=" << t << " j=" << j;
        }
      }
      // Channels outside the rotated slice are never touched.
      for (std::int64_t c = 0; c < dims.head_dim(); ++c) {
        if (c >= dims.offset() && c < dims.offset() + dims.rotary_dim()) continue;
        const auto i = static_cast<std::size_t>(base + c);
        ASSERT_EQ(std::memcmp(&twice[i], &input[i], sizeof(T)), 0);
        ASSERT_EQ(std::memcmp(&once[i], &input[i], sizeof(T)), 0);
      }
    }
}

// Every policy's table, its scaling active (length-dependent policies
// advanced by a call at a large position).
template <Layout L>
std::vector<std::pair<std::string, FrequencyTable>> policy_tables(const RotaryDims& dims) {
  std::vector<std::pair<std::string, FrequencyTable>> tables;
  std::vector<float> scratch(static_cast<std::size_t>(dims.head_dim()), 1.0f);
  for (auto& rope : policy_ropes<float, L>(dims)) {
    rope->apply_q(token_major_view(scratch.data(), 1, 1, dims.head_dim()), Positions::starting_at(2000000));
    tables.emplace_back(rope->name(), rope->table());
  }
  return tables;
}

template <Layout L>
void expect_composition_every_storage(const RotaryDims& dims) {
  for (const auto& [name, table] : policy_tables<L>(dims))
    for (Isa isa : available_isas()) {
      const ScopedIsa scoped(isa);
      const std::string what = name + " isa=" + isa_name(isa);
      expect_composition<float, L>(table, dims, what);
      expect_composition<Eigen::half, L>(table, dims, what);
      expect_composition<Eigen::bfloat16, L>(table, dims, what);
      expect_composition<double, L>(table, dims, what);
    }
}

TEST(ShiftComposition, EveryPolicyHalfSplit) { expect_composition_every_storage<neox>(RotaryDims(52, 48)); }
TEST(ShiftComposition, EveryPolicyInterleaved) { expect_composition_every_storage<gptj>(RotaryDims(52, 48)); }
// A rotated slice at an offset (channels 2..49 of 52).
TEST(ShiftComposition, RotatedSliceAtAnOffset) {
  expect_composition_every_storage<neox>(RotaryDims(52, 48, 2));
  expect_composition_every_storage<gptj>(RotaryDims(52, 48, 2));
}

// M-RoPE: deltas on three axes (a vision segment moved in time and space)
// equal a fresh rotation at the moved positions; a single-axis delta moves
// all three axes, as Qwen2-VL's position ids move when text before an image
// is evicted.
TEST(ShiftComposition, MultiAxisDeltas) {
  const RotaryDims dims(48);
  Rope<scaling::Mrope<>, neox> rope(dims, scaling::Mrope<>({8, 8, 8}, scaling::Default(1e6)));
  constexpr std::int64_t tokens = 4;
  const std::int64_t ids[3 * tokens] = {10, 10, 11, 11, 3, 4, 3, 4, 7, 7, 8, 8};
  const std::int64_t deltas[3 * tokens] = {-10, 5, 1000, -11, 2, -4, 0, 9, -7, 100, 3, -8};
  std::int64_t moved[3 * tokens];
  for (int i = 0; i < 3 * tokens; ++i) moved[i] = ids[i] + deltas[i];
  const std::int64_t text_delta = 40;
  std::int64_t moved_all[3 * tokens];
  for (int i = 0; i < 3 * tokens; ++i) moved_all[i] = ids[i] + text_delta;
  for (Isa isa : available_isas()) {
    const ScopedIsa scoped(isa);
    const auto input = random_values<float>(static_cast<std::size_t>(tokens * 2 * 48), 5);
    std::vector<float> shifted = input, direct = input, shifted_all = input, direct_all = input;
    const auto view = [&](std::vector<float>& x) { return token_major_view(x.data(), tokens, 2, 48); };
    rope.apply_k(view(shifted), Positions::multi_axis(ids, 3, tokens, tokens));
    shifted_all = shifted;
    shift_keys(rope, view(shifted), Positions::multi_axis(deltas, 3, tokens, tokens));
    rope.apply_k(view(direct), Positions::multi_axis(moved, 3, tokens, tokens));
    shift_keys(rope, view(shifted_all), Positions::constant(text_delta));
    rope.apply_k(view(direct_all), Positions::multi_axis(moved_all, 3, tokens, tokens));
    for (std::size_t i = 0; i < input.size(); ++i) {
      ASSERT_NEAR(shifted[i], direct[i], 1e-6 * 4) << isa_name(isa) << " " << i;
      ASSERT_NEAR(shifted_all[i], direct_all[i], 1e-6 * 4) << isa_name(isa) << " " << i;
    }
  }
}

// FP8 keys: dequantised with their scale, shifted and requantised with the
// same scale in one pass, which is the float shift of the dequantised keys
// rounded once to FP8, bit for bit on every path; and within one FP8
// rounding (half a step, plus the float error) of the exact shift.
template <class F>
double fp8_step(double value, double scale) {
  constexpr int mantissa = F::format::kMantissaBits;
  constexpr int min_exponent = 1 - F::format::kBias;
  const double x = std::fabs(value) / scale;
  const int exponent = x > 0 ? std::max(static_cast<int>(std::floor(std::log2(x))), min_exponent)
                             : min_exponent;
  return std::ldexp(1.0, exponent - mantissa) * scale;
}

template <class F>
void expect_fp8_shift(const float* head_scales, float scale) {
  constexpr std::int64_t tokens = 5, heads = 3, d = 40;
  const std::int64_t deltas[tokens] = {-1, 4095, -1000003, 2147483647, -2147483647};
  const Rope<scaling::Yarn, neox> rope(RotaryDims(d), scaling::Yarn(4.0, 4096, 1e4));
  const auto values = random_values<float>(static_cast<std::size_t>(tokens * heads * d), 41);
  const auto scale_of = [&](std::int64_t h) { return head_scales != nullptr ? head_scales[h] : scale; };
  std::vector<F> codes(values.size());
  std::vector<float> wide(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float s = scale_of(static_cast<std::int64_t>(i / d) % heads);
    codes[i] = quantize_fp8<F>(values[i] * s, s);
    wide[i] = dequantize_fp8(codes[i], s);
  }
  for (Isa isa : available_isas()) {
    const ScopedIsa scoped(isa);
    SCOPED_TRACE(std::string(F::format::kName) + " isa=" + isa_name(isa));
    std::vector<F> shifted = codes;
    std::vector<float> wide_shifted = wide;
    const auto plain = token_major_view(shifted.data(), tokens, heads, d);
    shift_keys(rope, head_scales != nullptr ? plain.with_head_scales(head_scales) : plain.with_scale(scale),
               Positions(deltas, tokens));
    shift_keys(rope, token_major_view(wide_shifted.data(), tokens, heads, d), Positions(deltas, tokens));
    const auto w = rope.policy().frequencies(rope.dims()).inv_freq;
    for (std::int64_t t = 0; t < tokens; ++t)
      for (std::int64_t h = 0; h < heads; ++h)
        for (std::int64_t j = 0; j < d / 2; ++j) {
          const auto i0 = static_cast<std::size_t>((t * heads + h) * d + j);
          const auto i1 = i0 + static_cast<std::size_t>(d / 2);
          const float s = scale_of(h);
          for (std::size_t i : {i0, i1}) {
            ASSERT_EQ(shifted[i].bits(), quantize_fp8<F>(wide_shifted[i], s).bits()) << "t=" << t << " h=" << h;
          }
          const long double angle = static_cast<long double>(deltas[t]) * w[static_cast<std::size_t>(j)];
          const long double a = dequantize_fp8(codes[i0], s), b = dequantize_fp8(codes[i1], s);
          const double exact0 = static_cast<double>(a * std::cos(angle) - b * std::sin(angle));
          const double exact1 = static_cast<double>(b * std::cos(angle) + a * std::sin(angle));
          const double float_error = 1e-6 * static_cast<double>(std::fabs(a) + std::fabs(b));
          EXPECT_LE(std::fabs(dequantize_fp8(shifted[i0], s) - exact0), fp8_step<F>(exact0, s) / 2 + float_error);
          EXPECT_LE(std::fabs(dequantize_fp8(shifted[i1], s) - exact1), fp8_step<F>(exact1, s) / 2 + float_error);
        }
  }
}

TEST(ShiftFp8, RoundedOnceWithItsScale) {
  const float head_scales[3] = {0.03f, 0.1f, 0.5f};
  expect_fp8_shift<float8_e4m3fn>(nullptr, 0.05f);
  expect_fp8_shift<float8_e4m3fn>(head_scales, 0.0f);
  expect_fp8_shift<float8_e5m2>(nullptr, 0.05f);
  expect_fp8_shift<float8_e5m2>(head_scales, 0.0f);
}

// shift_keys(rope) is shift with the rope's current table, and does not move
// a length-dependent state; AnyRope gives the same bytes.
TEST(ShiftForms, RopeAndAnyRopeUseTheCurrentTable) {
  const RotaryDims dims(64);
  const scaling::DynamicNtk policy(4.0, 64, 1e4);
  Rope<scaling::DynamicNtk, gptj> rope(dims, policy);
  AnyRope any(dims, Layout::interleaved, policy);
  auto keys = random_values<float>(8 * 2 * 64, 3);
  const auto view = [&](std::vector<float>& x) { return token_major_view(x.data(), 8, 2, 64); };
  rope.apply_k(view(keys), Positions::starting_at(5000));  // grows the base to 5008
  any.apply_k(view(keys), Positions::starting_at(5000));
  ASSERT_EQ(rope.state(), 5008);
  const std::int64_t deltas[8] = {-5000, -4000, 3, -1, 0, 7, -2, 100000};
  std::vector<float> by_rope = keys, by_any = keys, by_table = keys, by_runtime_layout = keys;
  shift_keys(rope, view(by_rope), Positions(deltas, 8));
  shift_keys(any, view(by_any), Positions(deltas, 8));
  shift<gptj>(rope.table_for(5008), dims, view(by_table), Positions(deltas, 8));
  shift(rope.table_for(5008), dims, Layout::interleaved, view(by_runtime_layout), Positions(deltas, 8));
  EXPECT_EQ(rope.state(), 5008);  // not reset by the small deltas
  EXPECT_TRUE(bytes_equal(by_any, by_rope));
  EXPECT_TRUE(bytes_equal(by_runtime_layout, by_table));
  EXPECT_FALSE(bytes_equal(by_table, keys));
  // The SIMD paths may form the current dynamic-NTK table's quarter turns
  // in the call (Rope's decode-step tables): the same table to float
  // rounding of cos/sin, not always the same bits.
  for (std::size_t i = 0; i < keys.size(); ++i)
    ASSERT_NEAR(by_rope[i], by_table[i], simd_pair_bound<float>(1.0, 4.0)) << i;
  // Direction: shift carries no attention factor, so shifting by 0 changes
  // nothing even where the table's factor is not 1.
  const Rope<scaling::Yarn, neox> yarn(dims, scaling::Yarn(4.0, 4096, 1e4));
  ASSERT_GT(yarn.attention_factor(), 1.1);
  std::vector<float> zero = keys;
  shift_keys(yarn, view(zero), Positions::constant(0));
  EXPECT_TRUE(bytes_equal(zero, keys));
}

}  // namespace
