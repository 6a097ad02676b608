// SPDX-License-Identifier: Apache-2.0
// Every SIMD path against the scalar reference: every policy, both layouts,
// every storage type, rotary_dim 2..64 (all even) and a spread to 512, head
// counts 1..40, unaligned and strided views, positions up to 2^31-1, within
// the bounds of simd_bounds.hpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "simd_bounds.hpp"
#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

const std::int64_t kIds[] = {0, 1, 4095, 131071, 1000003, 2147483647};
constexpr std::int64_t kTokens = 6;

using Geometry = Placed;

Geometry geometry(Placement placement, std::int64_t heads, std::int64_t head_dim) {
  return placed(placement, kTokens, heads, head_dim);
}

// Sentinel-filled buffer with random values in [-2, 2) * scale in the heads.
template <class T>
std::vector<T> make_buffer(const Geometry& g, std::int64_t heads, std::int64_t head_dim,
                           unsigned seed, float scale) {
  std::vector<T> buffer(static_cast<std::size_t>(g.size), T(-7.0f));
  const auto values = random_values<float>(static_cast<std::size_t>(kTokens * heads * head_dim), seed);
  std::size_t v = 0;
  for (std::int64_t t = 0; t < kTokens; ++t)
    for (std::int64_t h = 0; h < heads; ++h)
      for (std::int64_t i = 0; i < head_dim; ++i)
        buffer[static_cast<std::size_t>(g.offset + t * g.token_stride + h * g.head_stride + i)] =
            T(values[v++] * scale);
  return buffer;
}

template <class T, Layout L>
std::vector<T> rotated(Isa isa, PolicyRope<T, L>& rope, std::vector<T> buffer, const Geometry& g,
                       std::int64_t heads) {
  ScopedIsa scoped(isa);
  rope.apply_q(HeadView<T>(buffer.data() + g.offset, kTokens, heads, rope.dims().head_dim(),
                           g.token_stride, g.head_stride),
               Positions(kIds, kTokens));
  return buffer;
}

// Fresh ropes of one policy: one per path compared (length-dependent
// policies advance their state on the call) and a float one.
template <class T, Layout L>
struct RopeTriple {
  std::unique_ptr<PolicyRope<T, L>> simd, reference;
  std::unique_ptr<PolicyRope<float, L>> wide;
};

template <class T, Layout L, class Policy>
RopeTriple<T, L> ropes_of(const Policy& policy, const RotaryDims& dims) {
  return {std::make_unique<PolicyRopeOf<Policy, T, L>>(dims, policy),
          std::make_unique<PolicyRopeOf<Policy, T, L>>(dims, policy),
          std::make_unique<PolicyRopeOf<Policy, float, L>>(dims, policy)};
}

template <class T, Layout L>
void compare(Isa isa, const RopeTriple<T, L>& ropes, std::int64_t heads, Placement placement,
             const std::string& what, float input_scale = 1.0f) {
  const RotaryDims dims = ropes.simd->dims();
  SCOPED_TRACE(what + " " + ropes.simd->name() + " isa=" + isa_name(isa) + " d=" +
               std::to_string(dims.rotary_dim()) + "/" + std::to_string(dims.head_dim()) +
               " heads=" + std::to_string(heads) + " placement=" +
               std::to_string(static_cast<int>(placement)) + " " + storage_name<T>() + " " +
               layout_name(L));
  const Geometry g = geometry(placement, heads, dims.head_dim());
  const auto input = make_buffer<T>(g, heads, dims.head_dim(), 17, input_scale);
  const auto simd = rotated(isa, *ropes.simd, input, g, heads);
  const auto reference = rotated(Isa::scalar, *ropes.reference, input, g, heads);
  if constexpr (std::is_same_v<T, double>) {
    ASSERT_TRUE(bytes_equal(simd, reference)) << "double storage must take the scalar path";
    return;
  }
  const double m = ropes.simd->table().attention_factor();
  const std::int64_t half = dims.pairs();
  std::vector<bool> in_rotary(input.size(), false);
  for (std::int64_t t = 0; t < kTokens; ++t)
    for (std::int64_t h = 0; h < heads; ++h) {
      const std::int64_t base = g.offset + t * g.token_stride + h * g.head_stride;
      for (std::int64_t j = 0; j < half; ++j) {
        const auto i0 = static_cast<std::size_t>(base + (L == Layout::half_split ? j : 2 * j));
        const auto i1 = static_cast<std::size_t>(base + (L == Layout::half_split ? j + half : 2 * j + 1));
        in_rotary[i0] = in_rotary[i1] = true;
        const double magnitude = std::fabs(to_double(input[i0])) + std::fabs(to_double(input[i1]));
        const double bound = simd_pair_bound<T>(m, magnitude);
        ASSERT_NEAR(to_double(simd[i0]), to_double(reference[i0]), bound) << "t=" << t << " h=" << h << " j=" << j;
        ASSERT_NEAR(to_double(simd[i1]), to_double(reference[i1]), bound) << "t=" << t << " h=" << h << " j=" << j;
      }
    }
  // Everything else (partial-rotary tails, padding, the element before an
  // unaligned view) is untouched.
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (!in_rotary[i]) {
      ASSERT_EQ(std::memcmp(&simd[i], &input[i], sizeof(T)), 0) << "element " << i;
    }
  }

  if constexpr (!std::is_same_v<T, float>) {
    // The same path on the widened values, rounded once, gives the same bits.
    std::vector<float> wide(input.size());
    for (std::size_t i = 0; i < input.size(); ++i) wide[i] = static_cast<float>(input[i]);
    const auto wide_out = rotated(isa, *ropes.wide, wide, g, heads);
    for (std::size_t i = 0; i < input.size(); ++i) {
      const T rounded(wide_out[i]);
      ASSERT_EQ(std::memcmp(&simd[i], &rounded, sizeof(T)), 0) << "element " << i;
    }
  }
}

template <class F>
void for_each_storage_and_layout(F&& f) {
  f(Config<float, Layout::half_split>{});
  f(Config<float, Layout::interleaved>{});
  f(Config<Eigen::half, Layout::half_split>{});
  f(Config<Eigen::half, Layout::interleaved>{});
  f(Config<Eigen::bfloat16, Layout::half_split>{});
  f(Config<Eigen::bfloat16, Layout::interleaved>{});
  f(Config<double, Layout::half_split>{});
  f(Config<double, Layout::interleaved>{});
}

class SimdPaths : public ::testing::Test {
 protected:
  void SetUp() override {
    if (simd_paths().empty()) GTEST_SKIP() << "no SIMD path compiled in or supported here";
  }
};

TEST_F(SimdPaths, EveryRotaryDim) {
  std::vector<std::int64_t> dims;
  for (std::int64_t d = 2; d <= 64; d += 2) dims.push_back(d);
  for (std::int64_t d : {66, 70, 80, 96, 126, 128, 130, 160, 192, 256, 320, 384, 510, 512}) dims.push_back(d);
  for (Isa isa : simd_paths())
    for (std::int64_t d : dims)
      for_each_storage_and_layout([&](auto config) {
        using C = decltype(config);
        // Partial rotary with a 6-channel tail.
        compare(isa, ropes_of<typename C::type, C::layout>(scaling::Default(10000.0), RotaryDims(d + 6, d)),
                3, Placement::contiguous, "rotary sweep");
      });
}

TEST_F(SimdPaths, EveryHeadCount) {
  for (Isa isa : simd_paths())
    for (std::int64_t heads = 1; heads <= 40; ++heads)
      for_each_storage_and_layout([&](auto config) {
        using C = decltype(config);
        compare(isa,
                ropes_of<typename C::type, C::layout>(scaling::Default(500000.0), RotaryDims(heads % 2 ? 96 : 128)),
                heads, Placement::contiguous, "head sweep");
      });
}

TEST_F(SimdPaths, UnalignedAndStridedViews) {
  for (Isa isa : simd_paths())
    for (Placement placement : {Placement::unaligned, Placement::padded_strides, Placement::head_major})
      for (std::int64_t d : {24, 80, 128})
        for_each_storage_and_layout([&](auto config) {
          using C = decltype(config);
          compare(isa, ropes_of<typename C::type, C::layout>(scaling::Linear(2.0), RotaryDims(d + 2, d)), 5,
                  placement, "views");
        });
}

TEST_F(SimdPaths, EveryPolicy) {
  for (Isa isa : simd_paths())
    for (std::int64_t d : {64, 128})
      for_each_storage_and_layout([&](auto config) {
        using T = typename decltype(config)::type;
        constexpr Layout L = decltype(config)::layout;
        auto simd = policy_ropes<T, L>(RotaryDims(d));
        auto reference = policy_ropes<T, L>(RotaryDims(d));
        auto wide = policy_ropes<float, L>(RotaryDims(d));
        for (std::size_t i = 0; i < simd.size(); ++i)
          compare(isa, RopeTriple<T, L>{std::move(simd[i]), std::move(reference[i]), std::move(wide[i])}, 4,
                  Placement::contiguous, "policies");
      });
}

// Inputs below T's smallest normal, so that most results are subnormals of
// T, where the paths' roundings differ by a fixed spacing rather than a
// relative amount (the bound's absolute term). Every path, every storage.
// Half inputs stay below 2^-15, half its smallest normal: large enough that
// the paths' float results differ now and then, small enough that the
// relative terms stay below one subnormal spacing. float and bfloat16 share
// the smallest normal 2^-126. (double is compared bit for bit.)
template <class T>
float subnormal_input_scale() {
  if constexpr (std::is_same_v<T, Eigen::half>) return 0x1p-16f;
  else return 0x1p-127f;
}

TEST_F(SimdPaths, SubnormalResults) {
  for (Isa isa : simd_paths())
    for (std::int64_t d : {128, 256})
      for_each_storage_and_layout([&](auto config) {
        using C = decltype(config);
        using T = typename C::type;
        compare(isa, ropes_of<T, C::layout>(scaling::Yarn(4.0, 4096, 10000.0), RotaryDims(d)), 256,
                Placement::contiguous, "subnormal results", subnormal_input_scale<T>());
      });
}

// Multimodal positions: each pair reads its own axis, on every path.
TEST_F(SimdPaths, MultiAxisPositions) {
  const RotaryDims dims(128);
  const scaling::Mrope<> policy({16, 24, 24}, scaling::Default(1000000.0));
  const std::int64_t ids[3 * 2] = {5, 900000, 7, 12, 2147483647, 3};  // [axis][token]
  for (Isa isa : simd_paths()) {
    auto input = random_values<float>(2 * 4 * 128, 3);
    auto simd = input, reference = input;
    {
      ScopedIsa scoped(isa);
      Rope<scaling::Mrope<>> rope(dims, policy);
      rope.apply_q(token_major_view(simd.data(), 2, 4, 128), Positions::multi_axis(ids, 3, 2, 2));
    }
    {
      ScopedIsa scoped(Isa::scalar);
      Rope<scaling::Mrope<>> rope(dims, policy);
      rope.apply_q(token_major_view(reference.data(), 2, 4, 128), Positions::multi_axis(ids, 3, 2, 2));
    }
    for (std::size_t i = 0; i < input.size(); ++i)
      ASSERT_NEAR(simd[i], reference[i], simd_pair_bound<float>(1.0, 4.0)) << isa_name(isa) << " " << i;
  }
}

// The optional cos/sin cache gives the same bits as forming cos/sin per token.
TEST_F(SimdPaths, CosSinCacheMatchesOnTheFly) {
  for (Isa isa : available_isas()) {
    ScopedIsa scoped(isa);
    Rope<scaling::Yarn, gptj> rope(RotaryDims(80), scaling::Yarn(4.0, 4096, 10000.0));
    const CosSinCache cache(rope.table(), 70000);
    EXPECT_EQ(cache.isa(), isa);
    const std::int64_t ids[5] = {0, 69999, 4096, 31, 65536};
    auto x = random_values<Eigen::bfloat16>(5 * 3 * 80, 4);
    auto y = x;
    rope.apply_q(token_major_view(x.data(), 5, 3, 80), Positions(ids, 5));
    rotate<gptj>(cache, rope.dims(), token_major_view(y.data(), 5, 3, 80), Positions(ids, 5));
    EXPECT_TRUE(bytes_equal(x, y)) << isa_name(isa);
    const std::int64_t beyond[1] = {70000};
    EXPECT_THROW(rotate<gptj>(cache, rope.dims(), token_major_view(y.data(), 1, 3, 80), Positions(beyond, 1)),
                 std::invalid_argument);
  }
}

// Splitting one call over token and head ranges (an engine's own thread
// pool) or over OpenMP threads gives the same bits as one call.
TEST_F(SimdPaths, RangesAndParallelMatchOneCall) {
  Rope<scaling::Default> rope(RotaryDims(128), scaling::Default(500000.0));
  const auto q0 = random_values<float>(kTokens * 32 * 128, 5);
  const auto k0 = random_values<float>(kTokens * 8 * 128, 6);
  auto q = q0, k = k0;
  rope.apply(token_major_view(q.data(), kTokens, 32, 128), token_major_view(k.data(), kTokens, 8, 128),
             Positions(kIds, kTokens));
  auto q2 = q0, k2 = k0;
  const auto qv = token_major_view(q2.data(), kTokens, 32, 128);
  const auto kv = token_major_view(k2.data(), kTokens, 8, 128);
  const Positions all(kIds, kTokens);
  rotate<neox>(rope.table(), rope.dims(), qv.token_range(0, 2), kv.token_range(0, 2), all.token_range(0, 2));
  rotate<neox>(rope.table(), rope.dims(), qv.token_range(2, 4).head_range(0, 10), all.token_range(2, 4));
  rotate<neox>(rope.table(), rope.dims(), qv.token_range(2, 4).head_range(10, 22), all.token_range(2, 4));
  rotate<neox>(rope.table(), rope.dims(), kv.token_range(2, 4), all.token_range(2, 4));
  EXPECT_TRUE(bytes_equal(q, q2));
  EXPECT_TRUE(bytes_equal(k, k2));
  for (int threads : {1, 2, 3, 8}) {
    auto q3 = q0, k3 = k0;
    parallel_apply(rope, token_major_view(q3.data(), kTokens, 32, 128),
                   token_major_view(k3.data(), kTokens, 8, 128), Positions(kIds, kTokens), threads);
    EXPECT_TRUE(bytes_equal(q, q3)) << threads;
    EXPECT_TRUE(bytes_equal(k, k3)) << threads;
  }
}

// Calls too large for the cache prefetch and, for float, visit heads in
// another order (kernel-inl.hpp, head_major): the bits must not change. The
// same tokens rotated in cache-sized pieces are the comparison; a partial
// rotary_dim of 84 (42 pairs = 32 + 8 + 2) takes every loop of the kernel.
template <class T, Layout L>
void expect_streaming_matches_pieces(Isa isa) {
  SCOPED_TRACE(std::string(isa_name(isa)) + " " + storage_name<T>() + " " + layout_name(L));
  constexpr std::int64_t q_heads = 4, k_heads = 2, head_dim = 90;
  const std::int64_t tokens =
      streaming_tokens((q_heads + k_heads) * head_dim * std::int64_t{sizeof(T)});
  Rope<scaling::Linear, L> rope(RotaryDims(head_dim, 84), scaling::Linear(4.0, 500000.0));
  const auto q0 = random_values<T>(tokens * q_heads * head_dim, 8);
  const auto k0 = random_values<T>(tokens * k_heads * head_dim, 9);
  const Positions positions = Positions::starting_at(max_position + 1 - tokens);  // last: max_position
  auto q = q0, k = k0;
  {
    ScopedIsa scoped(isa);
    rope.apply(token_major_view(q.data(), tokens, q_heads, head_dim),
               token_major_view(k.data(), tokens, k_heads, head_dim), positions);
  }
  auto q_pieces = q0, k_pieces = k0;
  const auto qv = token_major_view(q_pieces.data(), tokens, q_heads, head_dim);
  const auto kv = token_major_view(k_pieces.data(), tokens, k_heads, head_dim);
  ScopedIsa scoped(isa);
  for (std::int64_t t = 0; t < tokens; t += 8)
    rope.apply(qv.token_range(t, 8), kv.token_range(t, 8), positions.token_range(t, 8));
  EXPECT_TRUE(bytes_equal(q, q_pieces));
  EXPECT_TRUE(bytes_equal(k, k_pieces));
}

TEST_F(SimdPaths, CallsThatStreamFromMemoryMatchSmallCalls) {
  for (Isa isa : simd_paths()) {
    expect_streaming_matches_pieces<float, Layout::half_split>(isa);
    expect_streaming_matches_pieces<float, Layout::interleaved>(isa);
    expect_streaming_matches_pieces<Eigen::half, Layout::half_split>(isa);
    expect_streaming_matches_pieces<Eigen::bfloat16, Layout::interleaved>(isa);
  }
}

// The same for a streaming call whose cos/sin come from a CosSinCache.
template <class T, Layout L>
void expect_cached_streaming_matches_on_the_fly(Isa isa) {
  SCOPED_TRACE(std::string(isa_name(isa)) + " " + storage_name<T>() + " " + layout_name(L));
  constexpr std::int64_t q_heads = 4, k_heads = 2, head_dim = 90;
  const std::int64_t tokens =
      streaming_tokens((q_heads + k_heads) * head_dim * std::int64_t{sizeof(T)});
  ScopedIsa scoped(isa);
  Rope<scaling::Linear, L> rope(RotaryDims(head_dim, 84), scaling::Linear(4.0, 500000.0));
  const CosSinCache cache(rope.table(), 1000 + tokens);
  auto q = random_values<T>(tokens * q_heads * head_dim, 10);
  auto k = random_values<T>(tokens * k_heads * head_dim, 11);
  auto q_cached = q, k_cached = k;
  const Positions positions = Positions::starting_at(1000);
  rope.apply(token_major_view(q.data(), tokens, q_heads, head_dim),
             token_major_view(k.data(), tokens, k_heads, head_dim), positions);
  rotate<L>(cache, rope.dims(), token_major_view(q_cached.data(), tokens, q_heads, head_dim),
            token_major_view(k_cached.data(), tokens, k_heads, head_dim), positions);
  EXPECT_TRUE(bytes_equal(q, q_cached));
  EXPECT_TRUE(bytes_equal(k, k_cached));
}

TEST_F(SimdPaths, CachedCallsThatStreamFromMemoryMatchOnTheFly) {
  for (Isa isa : available_isas()) {
    expect_cached_streaming_matches_on_the_fly<float, Layout::half_split>(isa);
    expect_cached_streaming_matches_on_the_fly<float, Layout::interleaved>(isa);
    expect_cached_streaming_matches_on_the_fly<Eigen::bfloat16, Layout::interleaved>(isa);
  }
}

// The premise of every "CallsThatStreamFromMemory" case: streaming_tokens()
// gives a call that takes the streaming order, and its pieces of 8 tokens
// (and a call of one token, however large) do not. In place a stream counts
// its source; out of place its source and its destination.
TEST(StreamingThreshold, StreamingTokensStreamAndTheirPiecesDoNot) {
  std::vector<float> q(4 * 128), k(2 * 128);
  std::vector<Eigen::bfloat16> out(2 * 128);
  using InPlace = detail::Stream<HeadView<float>, detail::InPlace>;
  using OutOfPlace = detail::Stream<HeadView<const float>, HeadView<Eigen::bfloat16>>;
  const auto in_place = std::make_tuple(
      InPlace{token_major_view(q.data(), 1, 4, 128), detail::InPlace{}, detail::NormSpec{}},
      InPlace{token_major_view(k.data(), 1, 2, 128), detail::InPlace{}, detail::NormSpec{}});
  const auto out_of_place = std::make_tuple(
      OutOfPlace{token_major_view(static_cast<const float*>(k.data()), 1, 2, 128),
                 token_major_view(out.data(), 1, 2, 128), detail::NormSpec{}});
  const std::int64_t in_place_tokens = streaming_tokens(6 * 128 * 4);
  const std::int64_t out_of_place_tokens = streaming_tokens(2 * 128 * (4 + 2));
  EXPECT_TRUE(detail::streams_from_memory(in_place_tokens, in_place));
  EXPECT_FALSE(detail::streams_from_memory(8, in_place));
  EXPECT_FALSE(detail::streams_from_memory(in_place_tokens - 8, in_place));
  EXPECT_TRUE(detail::streams_from_memory(out_of_place_tokens, out_of_place));
  EXPECT_FALSE(detail::streams_from_memory(out_of_place_tokens - 8, out_of_place));
  // One token larger than the threshold stays head by head in cache.
  const std::int64_t wide_heads = detail::kCacheResidentBytes / (128 * 4) + 1;
  std::vector<float> wide(static_cast<std::size_t>(wide_heads * 128));
  const auto one_wide_token = std::make_tuple(InPlace{
      token_major_view(wide.data(), 1, wide_heads, 128), detail::InPlace{}, detail::NormSpec{}});
  EXPECT_FALSE(detail::streams_from_memory(1, one_wide_token));
  EXPECT_TRUE(detail::streams_from_memory(2, one_wide_token));
}

// The avx512_bf16 path rounds bfloat16 with AVX512_BF16's instruction and
// hands every vector holding a NaN or a subnormal to the exact conversion:
// whatever it writes must be the avx512 path's bits. NaNs with payloads
// (quiet and signalling, both signs) and subnormals sit at every lane
// position of the even tokens (odd tokens are all ordinary): in-place
// rotation in both layouts (cache-resident and streaming calls, a partial
// rotary slice with tails and copied channels), rotate_into from float,
// conversion from float (a signalling NaN reaches the store unchanged) and
// QK-norm (a NaN makes its whole head NaN).
template <class T>
std::vector<T> with_unusual_values(std::vector<T> x, std::int64_t token_elements) {
  const std::uint32_t float_bits[] = {0x7F800001u, 0xFFC12345u, 0x7FBFFFFFu,
                                      0x00000001u, 0x807FFFFFu, 0x00400000u};
  const std::uint16_t bfloat16_bits[] = {0x7F81u, 0xFFC5u, 0x7FFFu, 0x0001u, 0x807Fu, 0x0040u};
  for (std::size_t i = 0; i < x.size(); i += 37) {
    if ((static_cast<std::int64_t>(i) / token_elements) % 2 != 0) continue;
    const std::size_t which = (i / 37) % 6;
    if constexpr (std::is_same_v<T, float>) std::memcpy(&x[i], &float_bits[which], sizeof(float));
    else x[i] = Eigen::numext::bit_cast<Eigen::bfloat16>(bfloat16_bits[which]);
  }
  return x;
}

template <Layout L>
void expect_bfloat16_writes_match(const RotaryDims& dims, std::int64_t tokens) {
  using bf16 = Eigen::bfloat16;
  const std::int64_t d = dims.head_dim(), q_heads = 4, k_heads = 2;
  SCOPED_TRACE(std::string(layout_name(L)) + " head_dim " + std::to_string(d) + " rotary_dim " +
               std::to_string(dims.rotary_dim()) + " tokens " + std::to_string(tokens));
  const Rope<scaling::Llama3, L> rope(dims, scaling::Llama3(8.0, 1.0, 4.0, 8192, 500000.0));
  const Positions positions = Positions::starting_at(1000);
  const auto q0 = with_unusual_values(random_values<bf16>(static_cast<std::size_t>(tokens * q_heads * d), 61), q_heads * d);
  const auto k0 = with_unusual_values(random_values<bf16>(static_cast<std::size_t>(tokens * k_heads * d), 62), k_heads * d);
  const auto wide = with_unusual_values(random_values<float>(static_cast<std::size_t>(tokens * q_heads * d), 63), q_heads * d);
  const auto weights = random_values<float>(static_cast<std::size_t>(d), 64);
  const auto writes = [&](Isa isa) {
    ScopedIsa scoped(isa);
    std::vector<std::vector<bf16>> out;
    auto q = q0, k = k0;
    rope.apply(token_major_view(q.data(), tokens, q_heads, d), token_major_view(k.data(), tokens, k_heads, d),
               positions);
    out.push_back(q);
    out.push_back(k);
    std::vector<bf16> into(wide.size()), converted(wide.size());
    rotate_into(rope, token_major_view(wide.data(), tokens, q_heads, d),
                token_major_view(into.data(), tokens, q_heads, d), positions);
    convert(token_major_view(wide.data(), tokens, q_heads, d), token_major_view(converted.data(), tokens, q_heads, d));
    out.push_back(into);
    out.push_back(converted);
    q = q0;
    k = k0;
    apply_qk_norm(rope, token_major_view(q.data(), tokens, q_heads, d),
                  token_major_view(k.data(), tokens, k_heads, d), positions,
                  QkNorm{weights, weights, 1e-6, NormWeight::multiply});
    out.push_back(q);
    out.push_back(k);
    return out;
  };
  const auto exact = writes(Isa::avx512), fast = writes(Isa::avx512_bf16);
  const char* what[] = {"apply q", "apply k", "rotate_into", "convert", "qk_norm q", "qk_norm k"};
  for (std::size_t i = 0; i < exact.size(); ++i) EXPECT_TRUE(bytes_equal(exact[i], fast[i])) << what[i];
}

TEST(Bfloat16Stores, Avx512Bf16PathWritesTheAvx512PathsBits) {
  const auto usable = available_isas();
  if (std::find(usable.begin(), usable.end(), Isa::avx512_bf16) == usable.end())
    GTEST_SKIP() << "this CPU or build has no avx512_bf16 path";
  for (const RotaryDims& dims : {RotaryDims(128), RotaryDims(120, 100)}) {
    expect_bfloat16_writes_match<Layout::half_split>(dims, 6);
    expect_bfloat16_writes_match<Layout::interleaved>(dims, 6);
  }
  const std::int64_t streaming = streaming_tokens(6 * 128 * 2);
  expect_bfloat16_writes_match<Layout::half_split>(RotaryDims(128), streaming);
  expect_bfloat16_writes_match<Layout::interleaved>(RotaryDims(128), streaming);
}

TEST(Dispatch, ForcingAnUnavailablePathThrowsBeforeWriting) {
  const auto usable = available_isas();
  for (Isa isa : {Isa::avx2, Isa::avx512, Isa::avx512_bf16, Isa::neon}) {
    if (std::find(usable.begin(), usable.end(), isa) != usable.end()) continue;
    ScopedIsa scoped(isa);
    Rope<scaling::Default> rope(RotaryDims(8));
    auto x = random_values<float>(8, 1);
    const auto x0 = x;
    EXPECT_THROW(rope.apply_q(token_major_view(x.data(), 1, 1, 8), Positions::starting_at(3)),
                 std::invalid_argument)
        << isa_name(isa);
    EXPECT_TRUE(bytes_equal(x, x0));
  }
  EXPECT_THROW(parse_isa("sse9", "ROPEKIT_FORCE_ISA"), std::invalid_argument);
}

}  // namespace
