// SPDX-License-Identifier: Apache-2.0
// The fused QK-norm + rotation against the two operations done separately:
// transformers' float32 RMSNorm (written out in norm_test_util.hpp), then
// ropekit's rotation on the same kernel path.
//
// Float storage, per channel, with y the exactly normalised values and m
// the attention factor:
//   |fused - two_step| <= (d_hf + 10u) * m * (|y_a| + |y_b|)  (rotated pair a, b)
//   |fused - two_step| <= (d_hf + 5u) * |y|                    (other channels)
// u = 2^-24. The two differ in the norm factor r: ropekit takes it from a
// double sum (1/sqrt rounded once to float: within u of exact), transformers
// from a float sum, whose relative error d_hf (measured per head against
// long double) grows with head_dim. A channel that passes through is
// (x r) w on both sides: u + d_hf for the factors, 2u of roundings each. A
// rotated one: the fused call folds w into cos/sin (w c: u), multiplies,
// adds (2u) and multiplies by r (u), on top of its factor's u; the two-step
// rounds (x r) w (2u) and the rotation (2u, the same cos/sin bits) on top
// of d_hf: 9u + d_hf, bounded by 10u + d_hf.
//
// Half, bfloat16 and FP8: the fused result is the float result rounded
// once, bit for bit; against the float two-step rounded once it may differ
// by the float bound plus one rounding on each side (2 u_T of the
// magnitude), plus T's subnormal spacing. Double storage normalises and
// rotates in double: within 1e-13 of a long-double oracle.
#include <gtest/gtest.h>

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

const std::int64_t kIds[] = {0, 1, 4095, 131071, 1000003, 2147483647};
constexpr std::int64_t kTokens = 6, kQHeads = 5, kKHeads = 2;
constexpr double kU = 0x1p-24;
constexpr float kEps = 1e-6f;

const Positions kPositions(kIds, kTokens);

template <class T>
HeadView<T> view(std::vector<T>& x, std::int64_t heads, std::int64_t head_dim, float scale) {
  HeadView<T> v = token_major_view(x.data(), kTokens, heads, head_dim);
  if constexpr (is_fp8_v<T>) return v.with_scale(scale);
  (void)scale;
  return v;
}


// One fused call and its two-step counterpart: q and k of one policy, dims
// and layout, on one kernel path.
struct NormCase {
  AnyPolicy policy;
  RotaryDims dims;
  Layout layout;
  NormWeight kind;
  Isa isa;

  std::string name() const {
    return std::string(AnyRope(dims, layout, policy).policy_name()) + " " + layout_name(layout) +
           " d=" + std::to_string(dims.rotary_dim()) + "/" + std::to_string(dims.head_dim()) +
           (kind == NormWeight::one_plus ? " (1+w)" : " w") + " " + isa_name(isa);
  }
};

// The largest error beyond transformers' own factor error, and the
// largest such error seen, both in units of the magnitude.
struct Worst {
  double value = 0.0, hf = 0.0;
  void add(double x) { value = std::max(value, x); }
  void add_hf(const std::vector<double>& errors) {
    for (double e : errors) hf = std::max(hf, e);
  }
  void print(const char* what) const {
    std::printf("%s: largest error %.2f u beyond transformers' factor error (largest %.2f u)\n", what,
                value / 0x1p-24, hf / 0x1p-24);
  }
};

// Float storage: fused against transformers' RMSNorm then apply.
void expect_float_matches_two_step(const NormCase& c, Worst& worst) {
  SCOPED_TRACE(c.name());
  const std::int64_t d = c.dims.head_dim();
  const auto wq = norm_weights(d, c.kind, 1), wk = norm_weights(d, c.kind, 2);
  auto q = norm_input<float>(kTokens, kQHeads, d, 3), k = norm_input<float>(kTokens, kKHeads, d, 4);
  const NormedTensor nq = normed(q, d, wq.data(), kEps, c.kind);
  const NormedTensor nk = normed(k, d, wk.data(), kEps, c.kind);
  auto q2 = nq.hf, k2 = nk.hf;
  ScopedIsa scoped(c.isa);
  const AnyRope fused_rope(c.dims, c.layout, c.policy), two_step_rope(c.dims, c.layout, c.policy);
  apply_qk_norm(fused_rope, view(q, kQHeads, d, 1), view(k, kKHeads, d, 1), kPositions,
                QkNorm{wq, wk, kEps, c.kind});
  two_step_rope.apply(view(q2, kQHeads, d, 1), view(k2, kKHeads, d, 1), kPositions);
  const double m = fused_rope.attention_factor();
  for (auto [out, ref, n] : {std::tuple{&q, &q2, &nq}, std::tuple{&k, &k2, &nk}}) {
    const std::vector<double> expected(ref->begin(), ref->end());
    worst.add_hf(n->hf_r_error);
    worst.add(expect_within(*out, expected, n->exact, c.dims, c.layout, m,
                            NormBound{10 * kU, 5 * kU, 2 * subnormal_spacing<float>(), &n->hf_r_error},
                            1.0f, "float two-step"));
  }
}

TEST(QkNorm, FloatMatchesTransformersNormThenRotationEveryPolicy) {
  Worst worst;
  for (Isa isa : available_isas())
    for (Layout layout : {Layout::half_split, Layout::interleaved})
      for (NormWeight kind : {NormWeight::multiply, NormWeight::one_plus})
        for_each_policy([&](auto policy) {
          expect_float_matches_two_step(NormCase{policy, RotaryDims(56, 48), layout, kind, isa}, worst);
        });
  worst.print("float fused vs transformers two-step, every policy");
}

TEST(QkNorm, FloatMatchesTransformersNormThenRotationEveryWidth) {
  Worst worst;
  const std::pair<std::int64_t, std::int64_t> widths[] = {
      {2, 2}, {8, 6}, {40, 24}, {64, 64}, {96, 64}, {128, 128}, {130, 128}, {256, 256}, {512, 512}, {600, 512},
      {640, 640}, {1040, 1024}, {1100, 1026}};
  for (Isa isa : available_isas())
    for (Layout layout : {Layout::half_split, Layout::interleaved})
      for (auto [head_dim, rotary_dim] : widths)
        expect_float_matches_two_step(
            NormCase{s::Yarn(4.0, 4096, 1e6), RotaryDims(head_dim, rotary_dim), layout, NormWeight::multiply, isa},
            worst);
  worst.print("float fused vs transformers two-step, widths 2..1100");
}

// Half, bfloat16 and FP8: against the float two-step on the stored values,
// rounded once to T; and bit for bit the fused float result rounded once.
template <class T>
void expect_rounded_once(const NormCase& c, float scale) {
  SCOPED_TRACE(c.name() + " " + storage_name<T>());
  const std::int64_t d = c.dims.head_dim();
  const auto wq = norm_weights(d, c.kind, 5), wk = norm_weights(d, c.kind, 6);
  auto q = norm_input<T>(kTokens, kQHeads, d, 7, scale), k = norm_input<T>(kTokens, kKHeads, d, 8, scale);
  const NormedTensor nq = normed(q, d, wq.data(), kEps, c.kind, scale);
  const NormedTensor nk = normed(k, d, wk.data(), kEps, c.kind, scale);
  const QkNorm norm{wq, wk, kEps, c.kind};
  auto q_wide = nq.input, k_wide = nk.input;  // the stored values, in float
  auto q2 = nq.hf, k2 = nk.hf;
  ScopedIsa scoped(c.isa);
  const AnyRope rope(c.dims, c.layout, c.policy), wide_rope(c.dims, c.layout, c.policy),
      two_step_rope(c.dims, c.layout, c.policy);
  apply_qk_norm(rope, view(q, kQHeads, d, scale), view(k, kKHeads, d, scale), kPositions, norm);
  apply_qk_norm(wide_rope, view(q_wide, kQHeads, d, 1), view(k_wide, kKHeads, d, 1), kPositions, norm);
  two_step_rope.apply(view(q2, kQHeads, d, 1), view(k2, kKHeads, d, 1), kPositions);
  const double m = rope.attention_factor();
  const auto round = [&](float x) {
    if constexpr (is_fp8_v<T>) return T(x / scale);
    else return T(x);
  };
  for (auto [out, wide, ref, n] : {std::tuple{&q, &q_wide, &q2, &nq}, std::tuple{&k, &k_wide, &k2, &nk}}) {
    for (std::size_t i = 0; i < out->size(); ++i) {
      const T once = round((*wide)[i]);
      ASSERT_EQ(std::memcmp(&(*out)[i], &once, sizeof(T)), 0)
          << "element " << i << ": not the fused float result rounded once";
    }
    std::vector<double> expected(ref->size());
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = value_of(round((*ref)[i]), scale);
    const double uT = 2.01 * storage_roundoff<T>();
    expect_within(*out, expected, n->exact, c.dims, c.layout, m,
                  NormBound{10 * kU + uT, 5 * kU + uT, 2 * storage_spacing<T>() * scale, &n->hf_r_error}, scale,
                  "two-step rounded once");
  }
}

TEST(QkNorm, NarrowStorageIsTheFloatTwoStepRoundedOnce) {
  for (Isa isa : available_isas())
    for (Layout layout : {Layout::half_split, Layout::interleaved})
      for (NormWeight kind : {NormWeight::multiply, NormWeight::one_plus})
        for (auto [head_dim, rotary_dim] : {std::pair{128, 128}, std::pair{96, 64}, std::pair{40, 24}})
          for (const AnyPolicy& policy : {AnyPolicy(s::Default(5e5)), AnyPolicy(s::Yarn(4.0, 4096, 1e6))}) {
            const NormCase c{policy, RotaryDims(head_dim, rotary_dim), layout, kind, isa};
            expect_rounded_once<Eigen::half>(c, 1.0f);
            expect_rounded_once<Eigen::bfloat16>(c, 1.0f);
            expect_rounded_once<float8_e4m3fn>(c, 0.03125f);
            expect_rounded_once<float8_e5m2>(c, 0.75f);
          }
}

// Double storage: the norm and the rotation in double, against a long-double
// norm and oracle rotation.
TEST(QkNorm, DoubleStorageMatchesLongDouble) {
  for (Layout layout : {Layout::half_split, Layout::interleaved})
    for (NormWeight kind : {NormWeight::multiply, NormWeight::one_plus})
      for (auto [head_dim, rotary_dim] : {std::pair{128, 128}, std::pair{40, 24}}) {
        SCOPED_TRACE(std::string(layout_name(layout)) + " " + std::to_string(rotary_dim));
        const RotaryDims dims(head_dim, rotary_dim);
        const auto w = norm_weights(head_dim, kind, 9);
        auto x = norm_input<double>(kTokens, kQHeads, head_dim, 10);
        for (auto& v : x) v += 1e-9 * v * v;  // bits past float's
        std::vector<long double> normalised(x.size());
        for (std::size_t at = 0; at < x.size(); at += static_cast<std::size_t>(head_dim)) {
          long double sum = 0;
          for (std::int64_t c = 0; c < head_dim; ++c) sum += static_cast<long double>(x[at + c]) * x[at + c];
          const long double r = 1.0L / std::sqrt(sum / head_dim + static_cast<long double>(kEps));
          for (std::int64_t c = 0; c < head_dim; ++c)
            normalised[at + c] = x[at + c] * r * (kind == NormWeight::one_plus ? 1.0L + w[c] : w[c]);
        }
        // Positions where the oracle's own long-double angles are good to
        // ~1e-15 (at 2^31 its angle rounding alone is ~5e-10).
        const std::vector<std::int64_t> ids = {4090, 4091, 4092, 4093, 4094, 4095};
        const auto oracle = oracle_rotate(normalised, kTokens, kQHeads, head_dim, rotary_dim, layout, ids,
                                          default_inv_freq(10000.0L, rotary_dim));
        const AnyRope rope(dims, layout, s::Default(10000.0));
        apply_head_norm(rope, view(x, kQHeads, head_dim, 1), Positions(ids.data(), kTokens),
                        HeadNorm{w, kEps, kind});
        for (std::size_t i = 0; i < x.size(); ++i)
          ASSERT_NEAR(x[i], static_cast<double>(oracle[i]), 1e-13 * (1.0 + std::fabs(static_cast<double>(oracle[i]))))
              << "element " << i;
      }
}

TEST(QkNorm, OnePlusIsMultiplyByOnePlusWeight) {
  const RotaryDims dims(72, 64);
  const auto w = norm_weights(72, NormWeight::one_plus, 11);
  std::vector<float> w1(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) w1[i] = 1.0f + w[i];
  for (Isa isa : available_isas()) {
    ScopedIsa scoped(isa);
    auto a = norm_input<Eigen::bfloat16>(kTokens, kQHeads, 72, 12), b = a;
    const Rope<s::Llama3, gptj> rope(dims, s::Llama3(8.0, 1.0, 4.0, 8192, 5e5));
    apply_head_norm(rope, view(a, kQHeads, 72, 1), kPositions, HeadNorm{w, kEps, NormWeight::one_plus});
    apply_head_norm(rope, view(b, kQHeads, 72, 1), kPositions, HeadNorm{w1, kEps, NormWeight::multiply});
    EXPECT_TRUE(bytes_equal(a, b)) << isa_name(isa);
  }
}

// Rope, AnyRope, the table forms (compile-time and run-time layout) and two
// one-tensor calls give the same bits.
template <Layout L>
void expect_every_form_agrees() {
  const RotaryDims dims(128);
  const auto wq = norm_weights(128, NormWeight::multiply, 13), wk = norm_weights(128, NormWeight::multiply, 14);
  const QkNorm norm{wq, wk, 1e-5, NormWeight::multiply};
  const auto q0 = norm_input<Eigen::half>(kTokens, kQHeads, 128, 15), k0 = norm_input<Eigen::half>(kTokens, kKHeads, 128, 16);
  const Rope<s::Yarn, L> rope(dims, s::Yarn(4.0, 4096, 1e6));
  auto q = q0, k = k0;
  apply_qk_norm(rope, view(q, kQHeads, 128, 1), view(k, kKHeads, 128, 1), kPositions, norm);
  auto check = [&](auto&& call, const char* what) {
    auto q2 = q0, k2 = k0;
    call(view(q2, kQHeads, 128, 1), view(k2, kKHeads, 128, 1));
    EXPECT_TRUE(bytes_equal(q, q2) && bytes_equal(k, k2)) << what << " " << layout_name(L);
  };
  check([&](auto qv, auto kv) { apply_qk_norm(AnyRope(rope), qv, kv, kPositions, norm); }, "AnyRope");
  check([&](auto qv, auto kv) { rotate_qk_norm<L>(rope.table(), dims, qv, kv, kPositions, norm); }, "table");
  check([&](auto qv, auto kv) { rotate_qk_norm(rope.table(), dims, L, qv, kv, kPositions, norm); },
        "table, run-time layout");
  check(
      [&](auto qv, auto kv) {
        apply_head_norm(rope, qv, kPositions, HeadNorm{wq, 1e-5, NormWeight::multiply});
        rotate_head_norm(rope.table(), dims, L, kv, kPositions, HeadNorm{wk, 1e-5, NormWeight::multiply});
      },
      "one tensor at a time");
}

TEST(QkNorm, EveryFormAgrees) {
  expect_every_form_agrees<Layout::half_split>();
  expect_every_form_agrees<Layout::interleaved>();
}

// A length-dependent policy advances its state exactly as apply does, and
// rotates with the table of the state it advanced to.
TEST(QkNorm, AdvancesLengthDependentStateLikeApply) {
  const RotaryDims dims(64);
  const auto w = norm_weights(64, NormWeight::multiply, 17);
  const Rope<s::DynamicNtk> fused(dims, s::DynamicNtk(4.0, 64, 10000.0)), plain = fused;
  auto q = norm_input<float>(kTokens, kQHeads, 64, 18), k = norm_input<float>(kTokens, kKHeads, 64, 19);
  auto q2 = q, k2 = k;
  apply_qk_norm(fused, view(q, kQHeads, 64, 1), view(k, kKHeads, 64, 1), kPositions,
                QkNorm{w, w, kEps, NormWeight::multiply});
  plain.apply(view(q2, kQHeads, 64, 1), view(k2, kKHeads, 64, 1), kPositions);
  EXPECT_EQ(fused.state(), plain.state());
  EXPECT_EQ(fused.state(), kIds[kTokens - 1] + 1);
  auto q3 = norm_input<float>(kTokens, kQHeads, 64, 18), k3 = norm_input<float>(kTokens, kKHeads, 64, 19);
  rotate_qk_norm<neox>(fused.table(), dims, view(q3, kQHeads, 64, 1), view(k3, kKHeads, 64, 1), kPositions,
                       QkNorm{w, w, kEps, NormWeight::multiply});
  EXPECT_TRUE(bytes_equal(q, q3) && bytes_equal(k, k3));
}

// Invalid calls: std::invalid_argument naming the parameter and its value,
// nothing written, no state advanced.
TEST(QkNorm, BadInputIsRejectedBeforeAnythingIsWritten) {
  constexpr std::int64_t d = 64;
  const std::vector<float> w(2 * d, 1.0f);
  const NormWeights ok(w.data(), d);
  struct Row {
    const char* name;
    std::vector<const char*> needles;
    QkNorm norm;
    std::int64_t k_head_dim;
  };
  const Row rows[] = {
      {"q weight null", {"norm.q_weight = nullptr"}, {{nullptr, d}, ok, 1e-6}, d},
      {"k weight null", {"norm.k_weight = nullptr"}, {ok, {nullptr, d}, 1e-6}, d},
      {"q weight short", {"norm.q_weight.size = 63", "head_dim = 64"}, {{w.data(), d - 1}, ok, 1e-6}, d},
      {"k weight long", {"norm.k_weight.size = 65", "head_dim = 64"}, {ok, {w.data(), d + 1}, 1e-6}, d},
      {"eps nan", {"norm.eps = nan"}, {ok, ok, kNaN}, d},
      {"eps zero", {"norm.eps = 0", "positive"}, {ok, ok, 0.0}, d},
      {"eps negative", {"norm.eps = -9.9999999999999995e-07"}, {ok, ok, -1e-6}, d},
      {"eps infinite", {"norm.eps = inf"}, {ok, ok, kInf}, d},
      {"eps beyond float", {"norm.eps = 9.9999999999999994e+38"}, {ok, ok, 1e39}, d},
      {"eps zero as float", {"norm.eps = 1e-50", "representable as a float"}, {ok, ok, 1e-50}, d},
      {"kind", {"norm.kind = 7"}, {ok, ok, 1e-6, static_cast<NormWeight>(7)}, d},
      {"k head_dim", {"k.head_dim = 32"}, {ok, ok, 1e-6}, 32},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const RotaryDims dims(d);
    auto q = norm_input<float>(kTokens, kQHeads, d, 20);
    auto k = norm_input<float>(kTokens, kKHeads, row.k_head_dim, 21);
    const auto q0 = q, k0 = k;
    const Rope<s::DynamicNtk> rope(dims, s::DynamicNtk(2.0, 64, 10000.0));
    const AnyRope any(dims, Layout::interleaved, s::Default());
    expect_rejected([&] { apply_qk_norm(rope, view(q, kQHeads, d, 1), view(k, kKHeads, row.k_head_dim, 1), kPositions, row.norm); },
                    {row.needles.front(), row.needles.back()});
    expect_rejected([&] { apply_qk_norm(any, view(q, kQHeads, d, 1), view(k, kKHeads, row.k_head_dim, 1), kPositions, row.norm); },
                    {row.needles[0]});
    expect_rejected([&] { rotate_qk_norm<gptj>(any.table(), dims, view(q, kQHeads, d, 1), view(k, kKHeads, row.k_head_dim, 1), kPositions, row.norm); },
                    {row.needles[0]});
    EXPECT_TRUE(bytes_equal(q, q0) && bytes_equal(k, k0));
    EXPECT_EQ(rope.state(), 64);
  }
  // One-tensor form.
  auto x = norm_input<float>(kTokens, kQHeads, d, 22);
  const auto x0 = x;
  expect_rejected([&] { apply_head_norm(Rope<s::Default>(RotaryDims(d)), view(x, kQHeads, d, 1), kPositions, HeadNorm{}); },
                  {"norm.weight = nullptr"});
  expect_rejected([&] { apply_head_norm(Rope<s::Default>(RotaryDims(d)), view(x, kQHeads, d, 1), kPositions, HeadNorm{w}); },
                  {"norm.weight.size = 128", "head_dim = 64"});
  expect_rejected([&] { rotate_head_norm(Rope<s::Default>(RotaryDims(d)).table(), RotaryDims(d), static_cast<Layout>(9), view(x, kQHeads, d, 1), kPositions, HeadNorm{ok}); },
                  {"layout = 9"});
  EXPECT_TRUE(bytes_equal(x, x0));
}

}  // namespace
