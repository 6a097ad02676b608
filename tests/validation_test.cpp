// SPDX-License-Identifier: Apache-2.0
// Bad input: std::invalid_argument naming the parameter and its value,
// raised before anything is written (bad_input_test.cpp holds the table of
// every rejected call; these are the detailed cases).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"
#include <ropekit/eigen_view.hpp>
#include <ropekit/scaling_law.hpp>

// ropekit's internal macros stay inside its headers (detail/macros_begin.inl
// and macros_end.inl): none may reach the code that includes them.
#if defined(ROPEKIT_BEGIN_NAMESPACE) || defined(ROPEKIT_END_NAMESPACE) ||           \
    defined(ROPEKIT_TU_NAMESPACE) || defined(ROPEKIT_COMPILE_AVX2) ||               \
    defined(ROPEKIT_COMPILE_AVX512) || defined(ROPEKIT_COMPILE_NEON) ||             \
    defined(ROPEKIT_NOINLINE) || defined(ROPEKIT_COLD) || defined(ROPEKIT_TARGET_POP) || \
    defined(ROPEKIT_BASELINE_PUSH) || defined(ROPEKIT_ARCH_X86_64) ||               \
    defined(ROPEKIT_USE_DYNAMIC_DISPATCH) || defined(ROPEKIT_DETAIL_MACROS_ACTIVE)
#error "an internal ropekit macro leaked out of its headers"
#endif
static_assert(ROPEKIT_VERSION == 100, "the public version macros stay");

namespace {

using namespace ropekit;
using namespace ropekit_test;


TEST(BadInput, Dimensions) {
  expect_rejected([] { RotaryDims(64, 63); }, {"rotary_dim = 63", "even"});
  expect_rejected([] { RotaryDims(64, 0); }, {"rotary_dim = 0", "positive"});
  expect_rejected([] { RotaryDims(64, -2); }, {"rotary_dim = -2"});
  expect_rejected([] { RotaryDims(64, 66); }, {"rotary_dim = 66", "head_dim = 64"});
  expect_rejected([] { RotaryDims(0, 0); }, {"head_dim = 0"});
  expect_rejected([] { RotaryDims(-8); }, {"head_dim = -8"});
}

TEST(BadInput, PolicyParameters) {
  using namespace scaling;
  for (double bad : {kNaN, kInf, -kInf, 0.0, -1.0}) {
    expect_rejected([&] { (void)Default{bad}; }, {"base = "});
    expect_rejected([&] { (void)FixedBase(bad); }, {"base = "});
    expect_rejected([&] { (void)FixedBase(1e6, bad); }, {"pretrained_base = "});
    expect_rejected([&] { (void)Linear(bad); }, {"factor = "});
    expect_rejected([&] { (void)Linear(2.0, bad); }, {"base = "});
    expect_rejected([&] { (void)NtkAware(bad); }, {"factor = "});
    expect_rejected([&] { (void)DynamicNtk(bad, 4096); }, {"factor = "});
    expect_rejected([&] { (void)DynamicNtk(2.0, 4096, bad); }, {"base = "});
  }
  expect_rejected([] { (void)Default(-1.0); }, {"base = -1"});
  expect_rejected([] { (void)Linear(kNaN); }, {"factor = nan"});
  expect_rejected([] { (void)DynamicNtk(2.0, 0); }, {"max_position_embeddings = 0"});
  expect_rejected([] { (void)DynamicNtk(2.0, -4096); }, {"max_position_embeddings = -4096"});
  // d/(d-2) has no value at d = 2.
  expect_rejected([] { Rope<NtkAware>(RotaryDims(64, 2), NtkAware(4.0)); }, {"rotary_dim = 2"});
  expect_rejected([] { Rope<DynamicNtk>(RotaryDims(2), DynamicNtk(4.0, 16)); }, {"rotary_dim = 2"});
}

TEST(BadInput, Views) {
  float buffer[256] = {};
  expect_rejected([] { token_major_view<float>(nullptr, 2, 2, 8); }, {"data = nullptr"});
  expect_rejected([&] { token_major_view(buffer, -1, 2, 8); }, {"tokens = -1"});
  expect_rejected([&] { token_major_view(buffer, 1, -2, 8); }, {"heads = -2"});
  expect_rejected([&] { token_major_view(buffer, 1, 2, 0); }, {"head_dim = 0"});
  // Heads 4 apart but 8 wide: they overlap.
  expect_rejected([&] { HeadView<float>(buffer, 2, 3, 8, 32, 4); }, {"head_stride = 4", "overlap"});
  // Tokens step 16 but each token holds 3 heads of 8 (24 elements).
  expect_rejected([&] { HeadView<float>(buffer, 2, 3, 8, 16, 8); }, {"token_stride = 16", "overlap"});
  expect_rejected([&] { HeadView<float>(buffer, 2, 3, 8, -24, 8); }, {"token_stride = -24"});
  expect_rejected([&] { fused_qkv_views(buffer, 2, 4, 2, 8, 40); }, {"row_stride = 40", "64"});
  // Empty views need no memory.
  EXPECT_NO_THROW(token_major_view<float>(nullptr, 0, 4, 8));
  EXPECT_NO_THROW(token_major_view<float>(nullptr, 4, 0, 8));
}

TEST(BadInput, PositionsWithoutCall) {
  const std::int64_t* null_ids = nullptr;
  expect_rejected([] { Positions::starting_at(-1); }, {"start position = -1"});
  expect_rejected([] { Positions::starting_at(std::int64_t{1} << 31); }, {"start position = 2147483648"});
  expect_rejected([&] { Positions(null_ids, 3); }, {"position ids = nullptr"});
  expect_rejected([&] { Positions(null_ids, -1); }, {"positions count = -1"});
}

// A call-time rejection leaves q and k byte-for-byte unchanged.
class RejectedCall : public ::testing::Test {
 protected:
  static constexpr std::int64_t kTokens = 4, kQHeads = 4, kKHeads = 2, kDim = 16;
  RejectedCall()
      : q(random_values<float>(kTokens * kQHeads * kDim, 1)),
        k(random_values<float>(kTokens * kKHeads * kDim, 2)),
        q0(q),
        k0(k) {}

  HeadView<float> qv() { return token_major_view(q.data(), kTokens, kQHeads, kDim); }
  HeadView<float> kv() { return token_major_view(k.data(), kTokens, kKHeads, kDim); }

  template <class F>
  void expect_rejected_untouched(F&& f, std::initializer_list<const char*> needles) {
    expect_rejected(std::forward<F>(f), needles);
    EXPECT_TRUE(bytes_equal(q, q0));
    EXPECT_TRUE(bytes_equal(k, k0));
  }

  std::vector<float> q, k, q0, k0;
  Rope<scaling::Default> rope{RotaryDims(kDim)};
};

TEST_F(RejectedCall, BadPositionIdLate) {
  const std::int64_t ids[kTokens] = {0, 1, 2, -5};
  expect_rejected_untouched([&] { rope.apply(qv(), kv(), Positions(ids, kTokens)); },
                            {"position id [3] = -5"});
  const std::int32_t ids32[kTokens] = {0, 1, 2, -7};
  expect_rejected_untouched([&] { rope.apply(qv(), kv(), Positions(ids32, kTokens)); },
                            {"position id [3] = -7"});
  const std::int64_t huge[kTokens] = {0, std::int64_t{1} << 40, 2, 3};
  expect_rejected_untouched([&] { rope.apply(qv(), kv(), Positions(huge, kTokens)); },
                            {"position id [1] = 1099511627776", "2147483647"});
}

TEST_F(RejectedCall, StartPastMaxPosition) {
  expect_rejected_untouched(
      [&] { rope.apply(qv(), kv(), Positions::starting_at(2147483647 - 2)); },
      {"start position = 2147483645", "4 tokens"});
}

TEST_F(RejectedCall, PositionCountMismatch) {
  const std::int64_t ids[3] = {0, 1, 2};
  expect_rejected_untouched([&] { rope.apply(qv(), kv(), Positions(ids, 3)); },
                            {"positions count = 3", "4"});
}

TEST_F(RejectedCall, TokenCountMismatch) {
  expect_rejected_untouched(
      [&] {
        rope.apply(qv(), token_major_view(k.data(), kTokens - 1, kKHeads, kDim),
                   Positions::starting_at(0));
      },
      {"k.tokens = 3", "q.tokens = 4"});
}

TEST_F(RejectedCall, HeadDimMismatch) {
  expect_rejected_untouched(
      [&] { rope.apply_q(token_major_view(q.data(), kTokens, 2 * kQHeads, kDim / 2), Positions::starting_at(0)); },
      {"q.head_dim = 8", "head_dim = 16"});
}

TEST_F(RejectedCall, QAndKOverlap) {
  // k aliases q's first heads.
  expect_rejected_untouched(
      [&] {
        rope.apply(qv(), token_major_view(q.data() + kDim, kTokens, kKHeads, kDim),
                   Positions::starting_at(0));
      },
      {"k = ", "overlaps q"});
  // k interleaved inside q's rows, sharing the same token stride.
  expect_rejected_untouched(
      [&] {
        rope.apply(qv(),
                   HeadView<float>(q.data() + 3 * kDim, kTokens, kKHeads, kDim, kQHeads * kDim, kDim),
                   Positions::starting_at(0));
      },
      {"overlaps q"});
}

TEST_F(RejectedCall, MisalignedData) {
  auto* misaligned = reinterpret_cast<float*>(reinterpret_cast<char*>(q.data()) + 1);
  expect_rejected_untouched(
      [&] { rope.apply_q(HeadView<float>(misaligned, 1, 1, kDim, kDim, kDim), Positions::starting_at(0)); },
      {"q.data", "aligned"});
}

TEST(BadInput, RejectedCallLeavesDynamicStateUnchanged) {
  Rope<scaling::DynamicNtk> rope(RotaryDims(16), scaling::DynamicNtk(2.0, 64));
  auto q = random_values<float>(2 * 16, 3);
  const auto q0 = q;
  const auto before = rope.inv_freq();
  const std::int64_t ids[2] = {5000, -1};
  expect_rejected([&] { rope.apply_q(token_major_view(q.data(), 2, 1, 16), Positions(ids, 2)); },
                  {"position id [1] = -1"});
  EXPECT_EQ(rope.state(), 64);
  EXPECT_EQ(rope.inv_freq(), before);
  EXPECT_TRUE(bytes_equal(q, q0));
}

// Fused QKV: q and k share rows but not elements; accepted.
TEST(BadInput, FusedQkvIsNotOverlap) {
  std::vector<float> rows(3 * (4 + 2 * 2) * 8, 1.0f);
  auto v = fused_qkv_views(rows.data(), 3, 4, 2, 8);
  Rope<scaling::Default> rope(RotaryDims(8));
  EXPECT_NO_THROW(rope.apply(v.q, v.k, Positions::starting_at(0)));
}

}  // namespace
