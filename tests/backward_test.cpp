// SPDX-License-Identifier: Apache-2.0
// apply_backward, the gradient of apply: against central differences of
// apply on double storage for every policy (attention factors 1, YaRN's
// 1.1386 and LongRoPE's), against apply_inverse (equal only when the factor
// is 1), on the table the forward call left, every SIMD path against
// scalar for float, half, bfloat16 and FP8, every entry point, bad input.
//
// Finite differences: apply is linear in its input for a fixed table, so
// (apply(x + h e_i) - apply(x - h e_i)) / 2h is the Jacobian's column i up to
// the rounding of the two rotated values (2^-53 of them each, divided by
// 2h); with h = 2^-10 that is below 1e-12 of |g|, and the bound is 1e-10.
//
// SIMD against scalar: simd_test.cpp's bound, 4 * 2^-24 * m * (|a| + |b|)
// for a pair (a, b) of the incoming gradient, plus one rounding to T
// (2 u_T of the same magnitude) and T's subnormal spacing twice for narrow
// storage; channels that do not rotate are untouched, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "norm_test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;
namespace s = ropekit::scaling;

const std::int64_t kIds[] = {5, 4097, 1000003};
constexpr std::int64_t kTokens = 3, kHeads = 2;
const Positions kPositions(kIds, kTokens);

template <class T>
HeadView<T> view(std::vector<T>& x, std::int64_t heads, std::int64_t head_dim, float scale = 1.0f) {
  HeadView<T> v = token_major_view(x.data(), kTokens, heads, head_dim);
  if constexpr (is_fp8_v<T>) return v.with_scale(scale);
  (void)scale;
  return v;
}

std::vector<double> random_doubles(std::size_t n, unsigned seed) {
  auto v = random_values<double>(n, seed);
  for (auto& x : v) x += 1e-9 * x * x;  // bits past float's
  return v;
}

// Checks apply_backward against central differences of apply, returning the
// largest difference over sum |g|.
double expect_matches_finite_differences(AnyRope rope) {
  SCOPED_TRACE(std::string(rope.policy_name()) + " " + layout_name(rope.layout()));
  const std::int64_t d = rope.dims().head_dim();
  const auto x = random_doubles(static_cast<std::size_t>(kTokens * kHeads * d), 1);
  const auto g = random_doubles(x.size(), 2);
  auto y = x;
  rope.apply_q(view(y, kHeads, d), kPositions);  // the forward call: may advance the state
  const std::vector<double> table = rope.inv_freq();
  constexpr double h = 0x1p-10;
  std::vector<double> numeric(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    auto plus = x, minus = x;
    plus[i] += h;
    minus[i] -= h;
    rope.apply_q(view(plus, kHeads, d), kPositions);
    rope.apply_q(view(minus, kHeads, d), kPositions);
    double sum = 0;
    for (std::size_t o = 0; o < x.size(); ++o) sum += g[o] * (plus[o] - minus[o]) / (2 * h);
    numeric[i] = sum;
  }
  EXPECT_EQ(rope.inv_freq(), table) << "the differences moved the state";
  auto grad = g;
  rope.apply_backward(view(grad, kHeads, d), kPositions);
  EXPECT_EQ(rope.inv_freq(), table) << "apply_backward moved the state";
  double g_sum = 0, worst = 0;
  for (double v : g) g_sum += std::fabs(v);
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(grad[i], numeric[i], 1e-10 * g_sum) << "element " << i;
    worst = std::max(worst, std::fabs(grad[i] - numeric[i]) / g_sum);
  }
  return worst;
}

TEST(Backward, MatchesFiniteDifferencesOfApplyInDouble) {
  double worst = 0;
  bool factor_above_one = false;
  for (Layout layout : {Layout::half_split, Layout::interleaved})
    for_each_policy([&](auto policy) {
      const AnyRope rope(RotaryDims(52, 48), layout, policy);
      worst = std::max(worst, expect_matches_finite_differences(rope));
      factor_above_one |= rope.table_for_length(kIds[kTokens - 1] + 1).attention_factor() > 1.1;
    });
  EXPECT_TRUE(factor_above_one) << "no policy with an attention factor away from 1 was tested";
  std::printf("backward against central differences: largest difference %.2e of sum |g|\n", worst);
}

// Fine-tuning with a new base (Liu et al. 2023 continue LLaMA2's training
// with base 1e6): the loss reaches the q projection W through the rotation,
// dL/dW = apply_backward(dL/d(rotated q))^T x. Against central differences
// of the loss in W.
TEST(Backward, GradientReachesTheProjectionWeights) {
  constexpr std::int64_t hidden = 6, d = 16;
  for (const AnyPolicy& policy : {AnyPolicy(s::FixedBase(1e6, 1e4)), AnyPolicy(s::Yarn(4.0, 4096, 1e4))}) {
    const AnyRope rope(RotaryDims(d), Layout::half_split, policy);
    SCOPED_TRACE(rope.policy_name());
    const auto x = random_doubles(kTokens * hidden, 12);
    const auto w = random_doubles(kHeads * d * hidden, 13);
    const auto g = random_doubles(kTokens * kHeads * d, 14);  // dL/d(rotated q), L = sum(g * rotated q)
    const auto loss = [&](const std::vector<double>& weights) {
      std::vector<double> q(static_cast<std::size_t>(kTokens * kHeads * d), 0.0);
      for (std::int64_t t = 0; t < kTokens; ++t)
        for (std::int64_t o = 0; o < kHeads * d; ++o)
          for (std::int64_t i = 0; i < hidden; ++i) q[t * kHeads * d + o] += x[t * hidden + i] * weights[o * hidden + i];
      rope.apply_q(view(q, kHeads, d), kPositions);
      double sum = 0;
      for (std::size_t i = 0; i < q.size(); ++i) sum += g[i] * q[i];
      return sum;
    };
    loss(w);  // the forward call
    auto dq = g;
    rope.apply_backward(view(dq, kHeads, d), kPositions);
    for (std::int64_t o = 0; o < kHeads * d; ++o)
      for (std::int64_t i = 0; i < hidden; ++i) {
        double analytic = 0;
        for (std::int64_t t = 0; t < kTokens; ++t) analytic += dq[t * kHeads * d + o] * x[t * hidden + i];
        auto plus = w, minus = w;
        plus[o * hidden + i] += 0x1p-10;
        minus[o * hidden + i] -= 0x1p-10;
        EXPECT_NEAR(analytic, (loss(plus) - loss(minus)) / 0x1p-9, 1e-9) << "W[" << o << "][" << i << "]";
      }
  }
}

// backward = m * R(-angle), inverse = R(-angle) / m: equal only for m = 1.
TEST(Backward, IsNotTheInverseUnlessTheAttentionFactorIsOne) {
  s::LongRope::Params longrope;
  longrope.short_factor.assign(32, 1.0);
  longrope.long_factor.assign(32, 4.0);
  longrope.original_max_position_embeddings = 4096;
  longrope.max_position_embeddings = 131072;
  for (const AnyPolicy& policy : {AnyPolicy(s::Yarn(4.0, 4096, 10000.0)), AnyPolicy(s::LongRope(longrope)),
                                  AnyPolicy(s::Default(10000.0))}) {
    const AnyRope rope(RotaryDims(64), Layout::half_split, policy);
    SCOPED_TRACE(rope.policy_name());
    auto forward = random_doubles(kTokens * kHeads * 64, 3);
    rope.apply_q(view(forward, kHeads, 64), kPositions);  // LongRoPE: to the long factors
    const double m = rope.attention_factor();
    const auto g = random_doubles(forward.size(), 4);
    auto backward = g, inverse = g;
    rope.apply_backward(view(backward, kHeads, 64), kPositions);
    rope.apply_inverse(view(inverse, kHeads, 64), kPositions);
    if (m == 1.0) {
      EXPECT_TRUE(bytes_equal(backward, inverse));
      continue;
    }
    double apart = 0;
    for (std::size_t i = 0; i < g.size(); ++i) {
      EXPECT_NEAR(backward[i], m * m * inverse[i], 1e-14 * 4) << i;
      apart = std::max(apart, std::fabs(backward[i] - inverse[i]));
    }
    EXPECT_GT(m, 1.1);
    EXPECT_GT(apart, 0.2) << "backward and inverse should differ by a factor m^2 = " << m * m;
  }
}

// A length-dependent policy's backward uses the table its forward call moved
// to, and moves nothing itself.
TEST(Backward, UsesTheTableTheForwardCallLeft) {
  const RotaryDims dims(64);
  const Rope<s::DynamicNtk, gptj> rope(dims, s::DynamicNtk(4.0, 64, 10000.0));
  const FrequencyTable before = rope.table();
  auto x = random_values<float>(kTokens * kHeads * 64, 5);
  rope.apply_q(view(x, kHeads, 64), kPositions);
  EXPECT_EQ(rope.state(), kIds[kTokens - 1] + 1);
  const auto g = random_values<float>(x.size(), 6);
  auto grad = g, pinned = g, stale = g;
  rope.apply_backward(view(grad, kHeads, 64), kPositions);
  EXPECT_EQ(rope.state(), kIds[kTokens - 1] + 1);
  rotate_backward<gptj>(rope.table(), dims, view(pinned, kHeads, 64), kPositions);
  rotate_backward<gptj>(before, dims, view(stale, kHeads, 64), kPositions);
  EXPECT_TRUE(bytes_equal(grad, pinned));
  EXPECT_FALSE(bytes_equal(grad, stale));
}

// The member (q and k, or one at a time), AnyRope and the table forms.
template <Layout L>
void expect_every_form_agrees() {
  const RotaryDims dims(96, 64);
  const Rope<s::Yarn, L> rope(dims, s::Yarn(8.0, 4096, 1e6));
  const auto q0 = random_values<Eigen::bfloat16>(kTokens * 4 * 96, 7);
  const auto k0 = random_values<Eigen::bfloat16>(kTokens * 2 * 96, 8);
  auto q = q0, k = k0;
  rope.apply_backward(view(q, 4, 96), view(k, 2, 96), kPositions);
  const auto check = [&](auto&& call, const char* what) {
    auto q2 = q0, k2 = k0;
    call(view(q2, 4, 96), view(k2, 2, 96));
    EXPECT_TRUE(bytes_equal(q, q2) && bytes_equal(k, k2)) << what << " " << layout_name(L);
  };
  check([&](auto qv, auto kv) { AnyRope(rope).apply_backward(qv, kv, kPositions); }, "AnyRope");
  check([&](auto qv, auto kv) {
    rope.apply_backward(qv, kPositions);
    AnyRope(rope).apply_backward(kv, kPositions);
  }, "one tensor at a time");
  check([&](auto qv, auto kv) { rotate_backward<L>(rope.table(), dims, qv, kv, kPositions); }, "table");
  check([&](auto qv, auto kv) { rotate_backward(rope.table(), dims, L, qv, kv, kPositions); },
        "table, run-time layout");
  check([&](auto qv, auto kv) {
    rotate_backward<L>(rope.table(), dims, qv, kPositions);
    rotate_backward(rope.table(), dims, L, kv, kPositions);
  }, "table, one tensor at a time");
}

TEST(Backward, EveryFormAgrees) {
  expect_every_form_agrees<Layout::half_split>();
  expect_every_form_agrees<Layout::interleaved>();
}


template <class T>
std::vector<T> backward_on(Isa isa, const AnyRope& fresh, std::vector<T> g, float scale) {
  ScopedIsa scoped(isa);
  AnyRope rope = fresh;
  const std::int64_t d = rope.dims().head_dim();
  std::vector<float> forward(static_cast<std::size_t>(kTokens * kHeads * d), 1.0f);
  rope.apply_q(view(forward, kHeads, d), kPositions);  // settles a length-dependent state
  rope.apply_backward(view(g, kHeads, d, scale), kPositions);
  return g;
}

template <class T>
void expect_simd_matches_scalar(Isa isa, const AnyRope& rope, float scale) {
  const RotaryDims dims = rope.dims();
  const std::int64_t d = dims.head_dim();
  SCOPED_TRACE(std::string(rope.policy_name()) + " " + isa_name(isa) + " " + storage_name<T>() + " " +
               layout_name(rope.layout()) + " d=" + std::to_string(dims.rotary_dim()) + "/" + std::to_string(d));
  const auto g = norm_input<T>(kTokens, kHeads, d, 9, scale);
  const auto simd = backward_on(isa, rope, g, scale);
  const auto reference = backward_on(Isa::scalar, rope, g, scale);
  std::vector<double> input(g.size()), expected(g.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    input[i] = value_of(g[i], scale);
    expected[i] = value_of(reference[i], scale);
    if (partner(dims, rope.layout(), static_cast<std::int64_t>(i % static_cast<std::size_t>(d))) < 0) {
      ASSERT_EQ(std::memcmp(&simd[i], &g[i], sizeof(T)), 0) << "pass-through channel written, element " << i;
    }
  }
  const double m = rope.table_for_length(kIds[kTokens - 1] + 1).attention_factor();
  const double narrow = 2 * narrow_roundoff<T>();
  expect_within(simd, expected, input, dims, rope.layout(), m,
                NormBound{4 * 0x1p-24 + narrow, 0.0, 2 * storage_spacing<T>() * scale, nullptr}, scale,
                "simd against scalar");
  if constexpr (!std::is_same_v<T, float>) {
    // The same path on the stored values in float, rounded once.
    std::vector<float> wide(g.size());
    for (std::size_t i = 0; i < g.size(); ++i) wide[i] = stored_value(g[i], scale);
    const auto wide_out = backward_on(isa, rope, wide, 1.0f);
    for (std::size_t i = 0; i < g.size(); ++i) {
      T once;
      if constexpr (is_fp8_v<T>) once = T(wide_out[i] / scale);
      else once = T(wide_out[i]);
      ASSERT_EQ(std::memcmp(&simd[i], &once, sizeof(T)), 0) << "element " << i;
    }
  }
}

TEST(Backward, EverySimdPathMatchesScalar) {
  const std::vector<Isa> paths = simd_paths();
  if (paths.empty()) GTEST_SKIP() << "no SIMD path compiled in or supported here";
  for (Isa isa : paths)
    for (Layout layout : {Layout::half_split, Layout::interleaved})
      for (const auto& width : {std::pair{136, 128}, std::pair{64, 64}, std::pair{30, 24}})
        for_each_policy(
            [&](auto policy) {
              const AnyRope rope(RotaryDims(width.first, width.second), layout, policy);
              expect_simd_matches_scalar<float>(isa, rope, 1.0f);
              expect_simd_matches_scalar<Eigen::half>(isa, rope, 1.0f);
              expect_simd_matches_scalar<Eigen::bfloat16>(isa, rope, 1.0f);
              expect_simd_matches_scalar<float8_e4m3fn>(isa, rope, 0.03125f);
              expect_simd_matches_scalar<float8_e5m2>(isa, rope, 0.75f);
            },
            width.second / 2);
}

// Invalid calls name the parameter, write nothing and move no state.
TEST(Backward, BadInputIsRejectedBeforeAnythingIsWritten) {
  const RotaryDims dims(64);
  const Rope<s::DynamicNtk> rope(dims, s::DynamicNtk(2.0, 64, 10000.0));
  const AnyRope any(dims, Layout::interleaved, s::Yarn(4.0, 4096));
  auto q = random_values<float>(kTokens * 4 * 64 + 64, 10), k = random_values<float>(kTokens * 2 * 64, 11);
  const auto q0 = q, k0 = k;
  const std::int64_t negative[kTokens] = {3, -1, 7};
  expect_rejected([&] { rope.apply_backward(view(q, 4, 64), view(k, 2, 32), kPositions); }, {"grad_k.head_dim = 32"});
  expect_rejected([&] { any.apply_backward(view(q, 4, 64), view(q, 1, 64), kPositions); },
                  {"grad_k", "overlaps grad_q"});
  expect_rejected([&] { rope.apply_backward(view(q, 4, 64), Positions(negative, kTokens)); }, {"position id [1] = -1"});
  expect_rejected([&] { any.apply_backward(token_major_view(q.data(), 2, 4, 64), view(k, 2, 64), kPositions); },
                  {"grad_k.tokens = 3"});
  expect_rejected([&] { rotate_backward<neox>(rope.table(), RotaryDims(66), view(k, 2, 64), kPositions); },
                  {"table pairs = 32"});
  expect_rejected([&] { rotate_backward(rope.table(), dims, static_cast<Layout>(5), view(k, 2, 64), kPositions); },
                  {"layout = 5"});
  EXPECT_TRUE(bytes_equal(q, q0) && bytes_equal(k, k0));
  EXPECT_EQ(rope.state(), 64);
}

}  // namespace
