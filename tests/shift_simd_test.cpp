// SPDX-License-Identifier: Apache-2.0
// K-shift and re-table on every SIMD path against the scalar reference:
// both layouts, every storage type (FP8 with per-tensor and per-head
// scales), rotary_dim 2..64 and a spread past one block of pairs, head
// counts 1..12, unaligned, strided and head-major views, rotated slices at
// an offset, deltas of either sign up to 2^31 - 1, and calls large enough
// to take the streaming, prefetching visit order.
//
// Bound per rotated pair, with scale m (1 for a shift, m_to / m_from for a
// re-table): simd_bounds.hpp's, as for every rotation. FP8 results may
// differ by one code (the float results straddle a rounding boundary at most
// once). Half and bfloat16 must equal the same path's float result rounded
// once, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "geometry_util.hpp"
#include "simd_bounds.hpp"
#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

// Repeats included: a token at the previous token's positions reuses its
// cos/sin on the SIMD paths.
constexpr std::int64_t kTokens = 8;
const std::int64_t kDeltaIds[kTokens] = {-2147483647, -1, -1, 0, 4095, -1000003, 2147483647, 2147483647};
const std::int64_t kPositionIds[kTokens] = {0, 1, 4095, 4095, 131071, 1000003, 2147483647, 2147483647};

// One operation on keys in place (shift or re-table), the same on each path.
template <class T>
using KeyOp = std::function<void(HeadView<T>)>;

// Order of an FP8 code on the number line (+0 and -0 coincide).
template <class T>
int ordinal(T code) {
  const int magnitude = code.bits() & 0x7f;
  return (code.bits() & 0x80) != 0 ? -magnitude : magnitude;
}

struct Case {
  RotaryDims dims;
  std::int64_t tokens, heads;
  Placement placement;
  double m;  // the scale the operation applies
  const float* head_scales = nullptr;  // FP8
  float scale = 1.0f;
};

template <class T>
HeadView<T> view_of(std::vector<T>& buffer, const Case& c, const Placed& g) {
  HeadView<T> v(buffer.data() + g.offset, c.tokens, c.heads, c.dims.head_dim(), g.token_stride,
                g.head_stride);
  if constexpr (is_fp8_v<T>) v = c.head_scales != nullptr ? v.with_head_scales(c.head_scales) : v.with_scale(c.scale);
  return v;
}

template <class T, Layout L>
void compare(Isa isa, const Case& c, const KeyOp<T>& op, const KeyOp<float>& wide_op,
             const std::string& what) {
  const std::int64_t d = c.dims.head_dim();
  SCOPED_TRACE(what + " isa=" + isa_name(isa) + " d=" + std::to_string(c.dims.rotary_dim()) + "/" +
               std::to_string(d) + " heads=" + std::to_string(c.heads) + " placement=" +
               std::to_string(static_cast<int>(c.placement)) + " " + storage_name<T>() + " " + layout_name(L));
  const Placed g = placed(c.placement, c.tokens, c.heads, d);
  std::vector<T> input(static_cast<std::size_t>(g.size), T(-7.0f));
  const auto values = random_values<float>(static_cast<std::size_t>(c.tokens * c.heads * d), 17);
  std::size_t v = 0;
  for (std::int64_t t = 0; t < c.tokens; ++t)
    for (std::int64_t h = 0; h < c.heads; ++h)
      for (std::int64_t i = 0; i < d; ++i)
        input[static_cast<std::size_t>(g.offset + t * g.token_stride + h * g.head_stride + i)] = T(values[v++]);
  std::vector<T> simd = input, reference = input;
  {
    const ScopedIsa scoped(isa);
    op(view_of(simd, c, g));
  }
  {
    const ScopedIsa scoped(Isa::scalar);
    op(view_of(reference, c, g));
  }
  if constexpr (std::is_same_v<T, double>) {
    ASSERT_TRUE(bytes_equal(simd, reference)) << "double storage must take the scalar path";
    return;
  }
  std::vector<bool> rotated(input.size(), false);
  const std::int64_t half = c.dims.pairs();
  for (std::int64_t t = 0; t < c.tokens; ++t)
    for (std::int64_t h = 0; h < c.heads; ++h) {
      const std::int64_t base = g.offset + t * g.token_stride + h * g.head_stride;
      for (std::int64_t j = 0; j < half; ++j) {
        const auto [c0, c1] = pair_channels(L, c.dims, j);
        const auto i0 = static_cast<std::size_t>(base + c0), i1 = static_cast<std::size_t>(base + c1);
        rotated[i0] = rotated[i1] = true;
        for (std::size_t i : {i0, i1}) {
          if constexpr (is_fp8_v<T>) {
            ASSERT_LE(std::abs(ordinal(simd[i]) - ordinal(reference[i])), 1) << "t=" << t << " h=" << h << " j=" << j;
          } else {
            const double magnitude = std::fabs(to_double(input[i0])) + std::fabs(to_double(input[i1]));
            const double bound = simd_pair_bound<T>(c.m, magnitude);
            ASSERT_NEAR(to_double(simd[i]), to_double(reference[i]), bound) << "t=" << t << " h=" << h << " j=" << j;
          }
        }
      }
    }
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (!rotated[i]) {
      ASSERT_EQ(std::memcmp(&simd[i], &input[i], sizeof(T)), 0) << "element " << i;
    }
  }
  if constexpr (!std::is_same_v<T, float> && !is_fp8_v<T>) {
    std::vector<float> wide(input.size());
    for (std::size_t i = 0; i < input.size(); ++i) wide[i] = static_cast<float>(input[i]);
    {
      const ScopedIsa scoped(isa);
      wide_op(view_of(wide, c, g));
    }
    for (std::size_t i = 0; i < input.size(); ++i) {
      const T rounded(wide[i]);
      ASSERT_EQ(std::memcmp(&simd[i], &rounded, sizeof(T)), 0) << "element " << i;
    }
  }
}

// The operations: a shift by per-token deltas, a shift by one constant, and
// a re-table from a default table to a YaRN one (scale m_to / m_from), over
// `tokens` tokens (kDeltaIds and kPositionIds repeated).
template <Layout L>
struct Operations {
  Operations(const RotaryDims& dims, std::int64_t tokens)
      : dims(dims),
        from(Rope<scaling::Default, L>(dims, scaling::Default(10000.0)).table()),
        to(Rope<scaling::Yarn, L>(dims, scaling::Yarn(4.0, 4096, 10000.0)).table()),
        change(from, to) {
    for (std::int64_t t = 0; t < tokens; ++t) {
      deltas.push_back(kDeltaIds[t % kTokens]);
      positions.push_back(kPositionIds[t % kTokens]);
    }
  }

  template <class T>
  KeyOp<T> shift_ids() const {
    return [this](HeadView<T> k) { shift<L>(from, dims, k, Positions(deltas.data(), k.tokens())); };
  }
  template <class T>
  KeyOp<T> shift_constant() const {
    return [this](HeadView<T> k) { shift<L>(from, dims, k, Positions::constant(-123457)); };
  }
  template <class T>
  KeyOp<T> retable_ids() const {
    return [this](HeadView<T> k) { retable<L>(change, dims, k, Positions(positions.data(), k.tokens())); };
  }

  RotaryDims dims;
  FrequencyTable from, to;
  TableChange change;
  std::vector<std::int64_t> deltas, positions;
};

template <class T, Layout L>
void compare_all_ops(Isa isa, const Case& c, const std::string& what, bool with_constant = true) {
  const Operations<L> ops(c.dims, c.tokens);
  Case shift_case = c;
  shift_case.m = 1.0;
  compare<T, L>(isa, shift_case, ops.template shift_ids<T>(), ops.template shift_ids<float>(), what + " shift");
  if (with_constant)
    compare<T, L>(isa, shift_case, ops.template shift_constant<T>(), ops.template shift_constant<float>(),
                  what + " shift constant");
  Case retable_case = c;
  retable_case.m = ops.change.scale();
  compare<T, L>(isa, retable_case, ops.template retable_ids<T>(), ops.template retable_ids<float>(),
                what + " retable");
}

template <class F>
void for_each_storage_and_layout(F&& f) {
  f(Config<float, neox>{});
  f(Config<float, gptj>{});
  f(Config<Eigen::half, neox>{});
  f(Config<Eigen::half, gptj>{});
  f(Config<Eigen::bfloat16, neox>{});
  f(Config<Eigen::bfloat16, gptj>{});
  f(Config<float8_e4m3fn, neox>{});
  f(Config<float8_e4m3fn, gptj>{});
  f(Config<float8_e5m2, neox>{});
  f(Config<float8_e5m2, gptj>{});
  f(Config<double, neox>{});
  f(Config<double, gptj>{});
}

const float kHeadScales[12] = {0.05f, 0.5f, 0.01f, 2.0f, 0.3f, 0.07f, 1.0f, 0.2f, 0.9f, 0.04f, 0.6f, 3.0f};

class ShiftSimd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (simd_paths().empty()) GTEST_SKIP() << "no SIMD path compiled in or supported here";
  }
};

TEST_F(ShiftSimd, EveryRotaryDim) {
  std::vector<std::int64_t> dims;
  for (std::int64_t d = 2; d <= 64; d += 2) dims.push_back(d);
  for (std::int64_t d : {80, 96, 128, 130, 256, 510, 512, 514}) dims.push_back(d);
  for (Isa isa : simd_paths())
    for (std::int64_t d : dims)
      for_each_storage_and_layout([&](auto config) {
        using C = decltype(config);
        Case c{RotaryDims(d + 6, d), kTokens, 3, Placement::contiguous, 1.0};
        c.scale = 0.25f;
        compare_all_ops<typename C::type, C::layout>(isa, c, "rotary sweep");
      });
}

TEST_F(ShiftSimd, EveryHeadCountAndPlacement) {
  for (Isa isa : simd_paths())
    for (std::int64_t heads = 1; heads <= 12; ++heads)
      for (Placement placement : {Placement::contiguous, Placement::unaligned, Placement::padded_strides,
                                  Placement::head_major})
        for_each_storage_and_layout([&](auto config) {
          using C = decltype(config);
          // Heads of 3 and 7: the rotated slice at an offset (channels 5..68).
          const std::int64_t offset = heads % 4 == 3 ? 5 : 0;
          Case c{RotaryDims(72, 64, offset), kTokens, heads, placement, 1.0};
          c.head_scales = kHeadScales;  // FP8: a scale per head
          compare_all_ops<typename C::type, C::layout>(isa, c, "heads");
        });
}

// Calls too large for the cache (just over kCacheResidentBytes here) take
// the streaming visit order with prefetches; they must give the bytes of
// the same call made in pieces of 8 tokens, which stay in cache and are
// compared with the scalar path above.
template <class T, Layout L>
void expect_streaming_matches_pieces(Isa isa) {
  SCOPED_TRACE(std::string(isa_name(isa)) + " " + storage_name<T>() + " " + layout_name(L));
  const ScopedIsa scoped(isa);
  constexpr std::int64_t heads = 8, d = 128;
  const std::int64_t tokens = streaming_tokens(heads * d * static_cast<std::int64_t>(sizeof(T)));
  const Operations<L> ops(RotaryDims(d), tokens);
  const auto input = random_values<T>(static_cast<std::size_t>(tokens * heads * d), 23);
  const auto view = [&](std::vector<T>& x) {
    auto v = token_major_view(x.data(), tokens, heads, d);
    if constexpr (is_fp8_v<T>) v = v.with_head_scales(kHeadScales);
    return v;
  };
  const Positions deltas(ops.deltas.data(), tokens), positions(ops.positions.data(), tokens);
  std::vector<T> whole = input, pieces = input;
  shift<L>(ops.from, ops.dims, view(whole), deltas);
  retable<L>(ops.change, ops.dims, view(whole), positions);
  shift<L>(ops.from, ops.dims, view(whole), Positions::constant(-77));
  for (std::int64_t t = 0; t < tokens; t += 8) {
    const auto piece = view(pieces).token_range(t, 8);
    shift<L>(ops.from, ops.dims, piece, deltas.token_range(t, 8));
    retable<L>(ops.change, ops.dims, piece, positions.token_range(t, 8));
    shift<L>(ops.from, ops.dims, piece, Positions::constant(-77).token_range(t, 8));
  }
  EXPECT_TRUE(bytes_equal(whole, pieces));
  EXPECT_FALSE(bytes_equal(whole, input));
}

TEST_F(ShiftSimd, CallsThatStreamFromMemoryMatchSmallCalls) {
  for (Isa isa : simd_paths())
    for_each_storage_and_layout([&](auto config) {
      using C = decltype(config);
      if constexpr (!std::is_same_v<typename C::type, double>)
        expect_streaming_matches_pieces<typename C::type, C::layout>(isa);
    });
}

}  // namespace
