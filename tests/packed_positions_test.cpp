// SPDX-License-Identifier: Apache-2.0
// Packed sequences (`Positions::packed`, `Positions::per_sequence`): the
// positions they describe must equal ids materialised independently (int32
// and int64 cu_seqlens and starts, empty sequences, sub-ranges), rotations
// with them must give the bytes of the same rotation with those explicit ids
// on every kernel path (through Rope, a CosSinCache and a length-dependent
// policy's state), the SIMD paths must agree with the scalar one, and every
// malformed batch must be rejected naming what is wrong, before anything is
// written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "simd_bounds.hpp"
#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;
namespace s = ropekit::scaling;

// A batch: per-sequence lengths and optional starts, and the ids it means.
struct Batch {
  std::vector<std::int64_t> lengths, starts;

  std::vector<std::int64_t> cu() const {
    std::vector<std::int64_t> cu = {0};
    for (std::int64_t n : lengths) cu.push_back(cu.back() + n);
    return cu;
  }
  std::vector<std::int64_t> ids() const {
    std::vector<std::int64_t> ids;
    for (std::size_t q = 0; q < lengths.size(); ++q)
      for (std::int64_t i = 0; i < lengths[q]; ++i) ids.push_back((starts.empty() ? 0 : starts[q]) + i);
    return ids;
  }
  std::int64_t sequences() const { return static_cast<std::int64_t>(lengths.size()); }
  std::int64_t tokens() const { return cu().back(); }
};

// The batch as Positions over cu_seqlens and starts of type Cu and Start
// (kept alive in the returned holder).
struct PackedOf {
  std::vector<std::int32_t> cu32, starts32;
  std::vector<std::int64_t> cu64, starts64;
  Positions positions = Positions::starting_at(0);
};

template <class Cu, class Start>
PackedOf packed_of(const Batch& b) {
  PackedOf p;
  const auto cu = b.cu();
  p.cu32.assign(cu.begin(), cu.end());
  p.cu64 = cu;
  p.starts32.assign(b.starts.begin(), b.starts.end());
  p.starts64 = b.starts;
  const Cu* cu_ptr;
  const Start* start_ptr;
  if constexpr (std::is_same_v<Cu, std::int32_t>) cu_ptr = p.cu32.data();
  else cu_ptr = p.cu64.data();
  if constexpr (std::is_same_v<Start, std::int32_t>) start_ptr = p.starts32.data();
  else start_ptr = p.starts64.data();
  p.positions = b.starts.empty() ? Positions::packed(cu_ptr, b.sequences())
                                 : Positions::packed(cu_ptr, b.sequences(), start_ptr);
  return p;
}

std::vector<Batch> batches() {
  std::vector<Batch> list = {
      {{3, 0, 4, 5}, {}},
      {{3, 0, 4, 5}, {100, 5, 0, 2147483640}},
      {{9}, {}},
      {{9}, {2147483638}},
      {{0, 0, 4, 0}, {}},
      {{1, 1, 1, 1, 1}, {7, 0, 4095, 131071, 2147483647}},  // batched decode
      {{}, {}},
  };
  std::mt19937 engine(11);
  Batch random;
  for (int q = 0; q < 200; ++q) {
    random.lengths.push_back(static_cast<std::int64_t>(engine() % 10));
    random.starts.push_back(static_cast<std::int64_t>(engine() % 5000));
  }
  list.push_back(random);
  random.starts.clear();
  list.push_back(random);
  return list;
}

std::int64_t largest_of(const std::vector<std::int64_t>& ids, std::size_t begin, std::size_t end) {
  std::int64_t largest = -1;
  for (std::size_t i = begin; i < end; ++i) largest = std::max(largest, ids[i]);
  return largest;
}

template <class Cu, class Start>
void expect_positions_match(const Batch& b) {
  const PackedOf p = packed_of<Cu, Start>(b);
  const auto ids = b.ids();
  const std::int64_t tokens = b.tokens();
  SCOPED_TRACE("sequences=" + std::to_string(b.sequences()) + " tokens=" + std::to_string(tokens) +
               " cu" + std::to_string(8 * sizeof(Cu)) + " starts" + std::to_string(8 * sizeof(Start)));
  ASSERT_EQ(static_cast<std::int64_t>(ids.size()), tokens);
  for (std::int64_t t = 0; t < tokens; ++t) ASSERT_EQ(p.positions.at(t), ids[static_cast<std::size_t>(t)]) << t;
  EXPECT_EQ(p.positions.validate(tokens), largest_of(ids, 0, ids.size()));
  EXPECT_EQ(p.positions.validate_deltas(tokens), largest_of(ids, 0, ids.size()));
  // Every sub-range, as a thread's share of the batch: the same ids, and
  // the largest of its own tokens (what a length-dependent policy sees).
  for (std::int64_t begin = 0; begin <= tokens; begin += 7)
    for (std::int64_t n : {std::int64_t{0}, std::int64_t{1}, std::int64_t{5}, tokens - begin}) {
      if (begin + n > tokens) continue;
      const Positions part = p.positions.token_range(begin, n);
      for (std::int64_t t = 0; t < n; ++t) ASSERT_EQ(part.at(t), ids[static_cast<std::size_t>(begin + t)]);
      EXPECT_EQ(part.validate(n), largest_of(ids, static_cast<std::size_t>(begin), static_cast<std::size_t>(begin + n)));
    }
}

TEST(PackedPositions, MatchMaterialisedIds) {
  for (const Batch& b : batches()) {
    expect_positions_match<std::int32_t, std::int32_t>(b);
    expect_positions_match<std::int32_t, std::int64_t>(b);
    expect_positions_match<std::int64_t, std::int32_t>(b);
    expect_positions_match<std::int64_t, std::int64_t>(b);
  }
}

TEST(PackedPositions, PerSequenceMatchesMaterialisedIds) {
  const std::int64_t starts64[] = {4, 0, 100000, 2147483644};
  const std::int32_t starts32[] = {4, 0, 100000, 2147483644};
  for (std::int64_t n : {1, 2, 4}) {
    const Positions p64 = Positions::per_sequence(starts64, 4, n);
    const Positions p32 = Positions::per_sequence(starts32, 4, n);
    std::vector<std::int64_t> ids;
    for (std::int64_t q = 0; q < 4; ++q)
      for (std::int64_t i = 0; i < n; ++i) ids.push_back(starts64[q] + i);
    for (std::int64_t t = 0; t < 4 * n; ++t) {
      ASSERT_EQ(p64.at(t), ids[static_cast<std::size_t>(t)]);
      ASSERT_EQ(p32.at(t), ids[static_cast<std::size_t>(t)]);
      ASSERT_EQ(p64.token_range(t, 4 * n - t).at(0), ids[static_cast<std::size_t>(t)]);
    }
    EXPECT_EQ(p64.validate(4 * n), 2147483644 + n - 1);
  }
}

// Rotations with packed positions give the bytes of the same call with the
// ids written out, on every path and storage type, through Rope (q and k),
// a CosSinCache, and a dynamic-NTK Rope, whose state must advance to the
// same length.
template <class T, Layout L>
void expect_same_bytes_as_ids(const Batch& b) {
  SCOPED_TRACE(std::string(storage_name<T>()) + " " + layout_name(L));
  const auto ids = b.ids();
  const PackedOf p = packed_of<std::int32_t, std::int64_t>(b);
  const std::int64_t tokens = b.tokens(), d = 40;
  if (tokens == 0) {  // an empty batch is a valid call that writes nothing
    const Rope<s::Yarn, L> rope(RotaryDims(d), s::Yarn(4.0, 4096, 1e4));
    EXPECT_NO_THROW(rope.apply_k(token_major_view(static_cast<T*>(nullptr), 0, 1, d), p.positions));
    return;
  }
  const Positions explicit_ids(ids.data(), tokens);
  const auto q = random_values<T>(static_cast<std::size_t>(tokens * 3 * d), 1);
  const auto k = random_values<T>(static_cast<std::size_t>(tokens * 1 * d), 2);
  const auto views = [&](std::vector<T>& x, std::int64_t heads) { return token_major_view(x.data(), tokens, heads, d); };
  {
    const Rope<s::Yarn, L> rope(RotaryDims(d), s::Yarn(4.0, 4096, 1e4));
    auto q1 = q, k1 = k, q2 = q, k2 = k;
    rope.apply(views(q1, 3), views(k1, 1), p.positions);
    rope.apply(views(q2, 3), views(k2, 1), explicit_ids);
    EXPECT_TRUE(bytes_equal(q1, q2) && bytes_equal(k1, k2)) << "Rope";
    EXPECT_FALSE(bytes_equal(q1, q)) << "nothing rotated";
  }
  {
    const Rope<s::DynamicNtk, L> packed_rope(RotaryDims(d), s::DynamicNtk(4.0, 64, 1e4));
    const Rope<s::DynamicNtk, L> ids_rope(RotaryDims(d), s::DynamicNtk(4.0, 64, 1e4));
    auto k1 = k, k2 = k;
    packed_rope.apply_k(views(k1, 1), p.positions);
    ids_rope.apply_k(views(k2, 1), explicit_ids);
    EXPECT_EQ(packed_rope.state(), ids_rope.state());
    EXPECT_TRUE(bytes_equal(k1, k2)) << "DynamicNtk";
  }
  if constexpr (!std::is_same_v<T, double>) {
    const Rope<s::Default, L> rope(RotaryDims(d), s::Default(1e4));
    const std::int64_t rows = 1 + largest_of(ids, 0, ids.size());
    if (rows > 0 && rows <= 10000) {
      const CosSinCache cache(rope.table(), rows);
      auto k1 = k, k2 = k;
      rotate<L>(cache, rope.dims(), views(k1, 1), p.positions);
      rotate<L>(cache, rope.dims(), views(k2, 1), explicit_ids);
      EXPECT_TRUE(bytes_equal(k1, k2)) << "CosSinCache";
    }
  }
}

TEST(PackedPositions, RotationsGiveTheBytesOfExplicitIdsOnEveryPath) {
  for (Isa isa : available_isas()) {
    const ScopedIsa scoped(isa);
    for (const Batch& b : batches()) {
      SCOPED_TRACE(std::string(isa_name(isa)) + " sequences=" + std::to_string(b.sequences()));
      expect_same_bytes_as_ids<float, neox>(b);
      expect_same_bytes_as_ids<float, gptj>(b);
      expect_same_bytes_as_ids<Eigen::half, neox>(b);
      expect_same_bytes_as_ids<Eigen::bfloat16, gptj>(b);
      expect_same_bytes_as_ids<double, neox>(b);
      expect_same_bytes_as_ids<float8_e5m2, gptj>(b);
    }
  }
}

// SIMD against scalar with packed positions (bound of simd_bounds.hpp).
template <class T, Layout L>
void expect_simd_matches_scalar(Isa isa, const Batch& b) {
  SCOPED_TRACE(std::string(isa_name(isa)) + " " + storage_name<T>() + " " + layout_name(L));
  const PackedOf p = packed_of<std::int64_t, std::int32_t>(b);
  const std::int64_t tokens = b.tokens(), heads = 3, d = 72;
  if (tokens == 0) return;
  const Rope<s::Llama3, L> rope(RotaryDims(d, 64), s::Llama3(8.0, 1.0, 4.0, 8192, 500000.0));
  const auto input = random_values<T>(static_cast<std::size_t>(tokens * heads * d), 9);
  auto simd = input, reference = input;
  {
    const ScopedIsa scoped(isa);
    rope.apply_q(token_major_view(simd.data(), tokens, heads, d), p.positions);
  }
  {
    const ScopedIsa scoped(Isa::scalar);
    rope.apply_q(token_major_view(reference.data(), tokens, heads, d), p.positions);
  }
  for (std::size_t i = 0; i < input.size(); ++i) {
    const std::size_t c = i % static_cast<std::size_t>(d);
    const std::size_t partner = L == neox ? (c < 32 ? i + 32 : c < 64 ? i - 32 : i) : (i ^ 1);
    const double magnitude = std::fabs(to_double(input[i])) + std::fabs(to_double(input[partner]));
    const double bound = simd_pair_bound<T>(1.0, magnitude);
    ASSERT_NEAR(to_double(simd[i]), to_double(reference[i]), bound) << "element " << i;
  }
}

TEST(PackedPositions, SimdMatchesScalar) {
  for (Isa isa : available_isas()) {
    if (isa == Isa::scalar) continue;
    for (const Batch& b : batches()) {
      expect_simd_matches_scalar<float, neox>(isa, b);
      expect_simd_matches_scalar<float, gptj>(isa, b);
      expect_simd_matches_scalar<Eigen::bfloat16, neox>(isa, b);
      expect_simd_matches_scalar<Eigen::half, gptj>(isa, b);
    }
  }
}

// Invalid batches: one row each, rejected naming the parameter, the q and k
// buffers (4 tokens) unchanged.
struct Row {
  const char* name;
  std::vector<const char*> needles;
  std::function<Positions()> positions;
};

void PrintTo(const Row& row, std::ostream* out) { *out << row.name; }

std::vector<Row> rows() {
  static const std::int32_t cu_first[] = {1, 2, 4, 4};
  static const std::int32_t cu_down[] = {0, 3, 2, 4};
  static const std::int64_t cu_short[] = {0, 1, 2, 3};
  static const std::int64_t cu_long[] = {0, 2, 5};
  static const std::int32_t cu_ok[] = {0, 1, 4};
  static const std::int64_t starts_negative[] = {0, -1};
  static const std::int64_t starts_huge[] = {2147483648LL, 0};
  static const std::int32_t starts_near_max[] = {0, 2147483646};
  static const std::int64_t one_each[] = {5, 6, 7, 2147483647};
  static const std::int64_t two_each[] = {5, 2147483647};
  return {
      {"cu_seqlens_first_not_zero", {"cu_seqlens[0] = 1", "must be 0"}, [] { return Positions::packed(cu_first, 3); }},
      {"cu_seqlens_decreasing", {"cu_seqlens[2] = 2", "cu_seqlens[1] = 3"}, [] { return Positions::packed(cu_down, 3); }},
      {"cu_seqlens_short_of_tokens", {"cu_seqlens[3] = 3", "number of tokens, 4"}, [] { return Positions::packed(cu_short, 3); }},
      {"cu_seqlens_past_tokens", {"cu_seqlens[2] = 5", "number of tokens, 4"}, [] { return Positions::packed(cu_long, 2); }},
      {"cu_seqlens_null", {"cu_seqlens = nullptr"}, [] { return Positions::packed(static_cast<const std::int32_t*>(nullptr), 2); }},
      {"sequences_negative", {"sequences = -1"}, [] { return Positions::packed(cu_ok, -1); }},
      {"starts_negative", {"sequence starts[1] = -1", "[0, 2147483647]"}, [] { return Positions::packed(cu_ok, 2, starts_negative); }},
      {"starts_past_max", {"sequence starts[0] = 2147483648"}, [] { return Positions::packed(cu_ok, 2, starts_huge); }},
      {"starts_plus_length_past_max", {"sequence starts[1] = 2147483646", "past max_position"},
       [] { return Positions::packed(cu_ok, 2, starts_near_max); }},
      {"packed_range_count", {"positions count = 3", "number of tokens, 4"},
       [] { return Positions::packed(cu_ok, 2).token_range(0, 3); }},
      {"packed_range_past_end", {"positions token range begin = 2", "packed tokens, 4"},
       [] { return Positions::packed(cu_ok, 2).token_range(2, 4); }},
      {"per_sequence_tokens_zero", {"tokens_per_sequence = 0"}, [] { return Positions::per_sequence(one_each, 4, 0); }},
      {"per_sequence_null_starts", {"starts = nullptr"},
       [] { return Positions::per_sequence(static_cast<const std::int64_t*>(nullptr), 2, 2); }},
      {"per_sequence_overflow", {"tokens_per_sequence = 3", "overflows"},
       [] { return Positions::per_sequence(one_each, std::numeric_limits<std::int64_t>::max() / 2, 3); }},
      {"per_sequence_total", {"sequences * tokens_per_sequence = 3", "number of tokens, 4"},
       [] { return Positions::per_sequence(one_each, 3, 1); }},
      {"per_sequence_past_max", {"sequence starts[1] = 2147483647", "past max_position"},
       [] { return Positions::per_sequence(two_each, 2, 2); }},
  };
}

class PackedBadInput : public ::testing::TestWithParam<Row> {};

TEST_P(PackedBadInput, RejectedNamingTheParameterAndWritingNothing) {
  const Row& row = GetParam();
  const Rope<s::DynamicNtk> rope(RotaryDims(16), s::DynamicNtk(2.0, 64));
  auto q = random_values<float>(4 * 2 * 16, 1), k = random_values<float>(4 * 16, 2);
  const auto q0 = q, k0 = k;
  expect_rejected(
      [&] {
        rope.apply(token_major_view(q.data(), 4, 2, 16), token_major_view(k.data(), 4, 1, 16),
                   row.positions());
      },
      row.needles);
  EXPECT_TRUE(bytes_equal(q, q0) && bytes_equal(k, k0)) << "a buffer changed";
  EXPECT_EQ(rope.state(), 64) << "the state moved";
}

INSTANTIATE_TEST_SUITE_P(Rows, PackedBadInput, ::testing::ValuesIn(rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return std::string(info.param.name); });

// A sequence too long for max_position without starts: more tokens than a
// test can allocate, so checked on the positions directly.
TEST(PackedPositions, SequencePastMaxPositionWithoutStarts) {
  const std::int64_t cu[] = {0, 5, 2147483649LL + 5};  // 2^31 + 1 tokens in sequence 1
  expect_rejected([&] { (void)Positions::packed(cu, 2).validate(cu[2]); },
                  {"cu_seqlens[2] = 2147483654", "past max_position"});
  const std::int64_t fits[] = {0, 5, 2147483648LL + 5};  // positions 0 .. 2^31 - 1
  EXPECT_EQ(Positions::packed(fits, 2).validate(fits[2]), 2147483647);
  EXPECT_EQ(Positions::packed(cu, 2).token_range(0, 6).validate(6), 4);
}

}  // namespace
