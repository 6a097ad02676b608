// SPDX-License-Identifier: Apache-2.0
// AnyRope is Rope<P, L> chosen at run time: for every policy, layout and
// storage type it must produce byte-identical tensors, tables and state, and
// reject bad calls with the same messages.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <ropekit/any_rope.hpp>

#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

constexpr std::int64_t kHeadDim = 64;
constexpr std::int64_t kRotaryDim = 48;  // partial: the tail must stay untouched
constexpr std::int64_t kTokens = 5;
constexpr std::int64_t kQHeads = 4;
constexpr std::int64_t kKHeads = 2;

// Positions for a sequence of calls: short first, then past every trained
// length used by for_each_policy (so DynamicNtk grows and LongRope switches),
// then short again (DynamicNtk resets, LongRope switches back).
const std::vector<std::vector<std::int64_t>> kCalls = {
    {0, 1, 2, 3, 4}, {9, 3, 1000000, 77, 1000000}, {5, 6, 7, 8, 9}};

template <class P>
constexpr bool in_any_policy = detail::is_any_policy_alternative<P, AnyPolicy>::value;

template <class T, Layout L, class P>
void expect_same_as_rope(const P& policy) {
  const RotaryDims dims(kHeadDim, kRotaryDim);
  Rope<P, L> rope(dims, policy);
  AnyRope any(dims, L, AnyPolicy(policy));
  const std::string what = std::string(P::name) + " " + layout_name(L) + " " + storage_name<T>();

  EXPECT_STREQ(any.policy_name(), P::name) << what;
  EXPECT_EQ(any.layout(), L) << what;
  EXPECT_EQ(any.dims(), dims) << what;
  EXPECT_EQ(any.length_dependent(), is_length_dependent_v<P>) << what;
  ASSERT_NE(any.template policy_if<P>(), nullptr) << what;
  EXPECT_EQ(any.template policy_if<scaling::Default>() != nullptr,
            (std::is_same_v<P, scaling::Default>))
      << what;

  auto q_rope = random_values<T>(kTokens * kQHeads * kHeadDim, 11);
  auto k_rope = random_values<T>(kTokens * kKHeads * kHeadDim, 12);
  auto q_any = q_rope;
  auto k_any = k_rope;
  for (const auto& ids : kCalls) {
    const Positions positions(ids.data(), kTokens);
    rope.apply(token_major_view(q_rope.data(), kTokens, kQHeads, kHeadDim),
               token_major_view(k_rope.data(), kTokens, kKHeads, kHeadDim), positions);
    any.apply(token_major_view(q_any.data(), kTokens, kQHeads, kHeadDim),
              token_major_view(k_any.data(), kTokens, kKHeads, kHeadDim), positions);
    EXPECT_TRUE(bytes_equal(q_rope, q_any)) << what;
    EXPECT_TRUE(bytes_equal(k_rope, k_any)) << what;
    EXPECT_EQ(rope.inv_freq(), any.inv_freq()) << what;
    EXPECT_EQ(rope.attention_factor(), any.attention_factor()) << what;
    if constexpr (is_length_dependent_v<P>) {
      any.visit([&](const auto& held) {
        if constexpr (std::is_same_v<std::decay_t<decltype(held)>, Rope<P, L>>) {
          EXPECT_EQ(held.state(), rope.state()) << what;
        } else {
          ADD_FAILURE() << what << ": visit handed out another type";
        }
      });
    }
  }

  // apply_q, apply_k, both inverses.
  const Positions later = Positions::starting_at(4090);
  rope.apply_q(token_major_view(q_rope.data(), kTokens, kQHeads, kHeadDim), later);
  any.apply_q(token_major_view(q_any.data(), kTokens, kQHeads, kHeadDim), later);
  rope.apply_k(token_major_view(k_rope.data(), kTokens, kKHeads, kHeadDim), later);
  any.apply_k(token_major_view(k_any.data(), kTokens, kKHeads, kHeadDim), later);
  EXPECT_TRUE(bytes_equal(q_rope, q_any)) << what;
  EXPECT_TRUE(bytes_equal(k_rope, k_any)) << what;
  rope.apply_inverse(token_major_view(q_rope.data(), kTokens, kQHeads, kHeadDim),
                     token_major_view(k_rope.data(), kTokens, kKHeads, kHeadDim), later);
  any.apply_inverse(token_major_view(q_any.data(), kTokens, kQHeads, kHeadDim),
                    token_major_view(k_any.data(), kTokens, kKHeads, kHeadDim), later);
  rope.apply_inverse(token_major_view(q_rope.data(), kTokens, kQHeads, kHeadDim), later);
  any.apply_inverse(token_major_view(q_any.data(), kTokens, kQHeads, kHeadDim), later);
  EXPECT_TRUE(bytes_equal(q_rope, q_any)) << what;
  EXPECT_TRUE(bytes_equal(k_rope, k_any)) << what;

  // The same rejection, with the same message, and nothing written.
  std::vector<T> wrong(kTokens * (kHeadDim + 2));
  std::string rope_error, any_error;
  try {
    rope.apply_q(token_major_view(wrong.data(), kTokens, 1, kHeadDim + 2), later);
  } catch (const std::invalid_argument& e) {
    rope_error = e.what();
  }
  const auto before = q_any;
  try {
    any.apply_q(token_major_view(wrong.data(), kTokens, 1, kHeadDim + 2), later);
  } catch (const std::invalid_argument& e) {
    any_error = e.what();
  }
  EXPECT_FALSE(rope_error.empty()) << what;
  EXPECT_EQ(rope_error, any_error) << what;
  EXPECT_TRUE(bytes_equal(before, q_any)) << what;
}

template <class T, Layout L>
void for_each_policy_same_as_rope() {
  for_each_policy(
      [](auto policy) {
        using P = decltype(policy);
        if constexpr (in_any_policy<P>) {
          expect_same_as_rope<T, L>(policy);
        } else {
          ADD_FAILURE() << P::name << " is missing from AnyPolicy";
        }
      },
      kRotaryDim / 2);
}

TEST(AnyRope, SameBytesAsRopeFloat) {
  for_each_policy_same_as_rope<float, Layout::half_split>();
  for_each_policy_same_as_rope<float, Layout::interleaved>();
}
// AnyRope forwards the element type unchanged to Rope<P, L>, so one type
// covers its dispatch (hf_config_test adds double); every storage type
// against every policy is the property and SIMD tests' job. Each further
// type here would instantiate all twenty Rope types again.

// M-RoPE with three position axes (t, h, w) per token.
TEST(AnyRope, MultiAxisPositionsSameAsRope) {
  const RotaryDims dims(128);
  const scaling::Mrope<> policy({16, 24, 24}, scaling::Default(1000000.0));
  Rope<scaling::Mrope<>, neox> rope(dims, policy);
  AnyRope any(dims, neox, policy);
  const std::int64_t ids[3 * kTokens] = {0, 1, 2, 3, 4, 0, 5, 5, 9, 9, 0, 7, 8, 7, 8};
  const Positions positions = Positions::multi_axis(ids, 3, kTokens, kTokens);
  auto a = random_values<float>(kTokens * 2 * 128, 4);
  auto b = a;
  rope.apply_q(token_major_view(a.data(), kTokens, 2, 128), positions);
  any.apply_q(token_major_view(b.data(), kTokens, 2, 128), positions);
  EXPECT_TRUE(bytes_equal(a, b));
}

TEST(AnyRope, WrapsAnExistingRopeWithItsState) {
  Rope<scaling::DynamicNtk> rope(RotaryDims(64), scaling::DynamicNtk(4.0, 256));
  std::vector<float> x(64, 0.5f);
  rope.apply_q(token_major_view(x.data(), 1, 1, 64), Positions::starting_at(999));
  ASSERT_EQ(rope.state(), 1000);
  const AnyRope any(rope);
  EXPECT_EQ(any.inv_freq(), rope.inv_freq());
  EXPECT_EQ(any.layout(), Layout::half_split);
  const auto* held = std::get_if<Rope<scaling::DynamicNtk>>(&any.variant());
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->state(), 1000);
}

TEST(AnyRope, TableForLengthDoesNotTouchState) {
  AnyRope any(RotaryDims(128), neox, scaling::DynamicNtk(4.0, 4096));
  const auto initial = any.inv_freq();
  const FrequencyTable grown = any.table_for_length(8192);
  EXPECT_EQ(any.inv_freq(), initial);                       // state unchanged
  // transformers' `_compute_dynamic_ntk_parameters` at seq_len 8192, float32.
  EXPECT_NEAR(grown.inv_freq()[1], 8.441220522e-01, 1e-6);
  EXPECT_NEAR(grown.inv_freq()[63], 2.309563752e-05, 2.4e-11);
  EXPECT_EQ(any.table_for_length(100).inv_freq(), initial);

  AnyRope fixed(RotaryDims(128), gptj, scaling::Linear(4.0));
  EXPECT_EQ(fixed.table_for_length(1 << 20).inv_freq(), fixed.inv_freq());
  EXPECT_THROW(fixed.table_for_length(0), std::invalid_argument);
}

TEST(AnyRope, PolicyRoundTrips) {
  const AnyRope any(RotaryDims(96), gptj, scaling::Yarn(32.0, 4096, 150000.0));
  const AnyPolicy policy = any.policy();
  ASSERT_TRUE(std::holds_alternative<scaling::Yarn>(policy));
  EXPECT_EQ(std::get<scaling::Yarn>(policy).factor(), 32.0);
  const AnyRope copy(any.dims(), any.layout(), policy);
  EXPECT_EQ(copy.inv_freq(), any.inv_freq());
  EXPECT_EQ(copy.attention_factor(), any.attention_factor());
}

TEST(AnyRope, RejectsBadLayoutAndBadPolicyGeometry) {
  EXPECT_THROW(AnyRope(RotaryDims(64), static_cast<Layout>(7), scaling::Default()),
               std::invalid_argument);
  // M-RoPE sections that do not sum to rotary_dim / 2: Rope's own error.
  try {
    AnyRope(RotaryDims(64), neox, scaling::Mrope<>({16, 24, 24}));
    ADD_FAILURE() << "expected a throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("mrope_section"), std::string::npos) << e.what();
  }
}

}  // namespace
