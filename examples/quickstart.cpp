// SPDX-License-Identifier: Apache-2.0
// Rotates a Llama-3-8B-shaped Q/K (32 query heads, 8 key heads, head_dim 128)
// with each scaling policy and prints what it did.
#include <ropekit/ropekit.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace {

constexpr std::int64_t kTokens = 8, kQHeads = 32, kKvHeads = 8, kHeadDim = 128;

template <class Policy>
void demo(const char* what, Policy policy, std::int64_t first_position) {
  using namespace ropekit;
  Rope<Policy> rope(RotaryDims(kHeadDim), policy);

  std::mt19937 engine(42);
  std::normal_distribution<float> normal;
  std::vector<Eigen::bfloat16> q(kTokens * kQHeads * kHeadDim), k(kTokens * kKvHeads * kHeadDim);
  for (auto& x : q) x = Eigen::bfloat16(normal(engine));
  for (auto& x : k) x = Eigen::bfloat16(normal(engine));
  const auto q_before = q;

  const auto qv = token_major_view(q.data(), kTokens, kQHeads, kHeadDim);
  const auto kv = token_major_view(k.data(), kTokens, kKvHeads, kHeadDim);
  rope.apply(qv, kv, Positions::starting_at(first_position));

  // Rotation keeps each head's norm (times the attention factor).
  double norm_before = 0, norm_after = 0;
  for (std::int64_t i = 0; i < kHeadDim; ++i) {
    norm_before += std::pow(static_cast<double>(q_before[i]), 2);
    norm_after += std::pow(static_cast<double>(q[i]), 2);
  }
  std::printf("%-42s positions %7lld..%-7lld  w1 = %.9f  w63 = %.6e  m = %.4f  |q0| %.4f -> %.4f\n",
              what, static_cast<long long>(first_position),
              static_cast<long long>(first_position + kTokens - 1), rope.inv_freq()[1],
              rope.inv_freq()[63], rope.attention_factor(), std::sqrt(norm_before),
              std::sqrt(norm_after));
}

}  // namespace

int main() {
  using namespace ropekit::scaling;
  std::printf("ropekit %d.%d.%d quickstart: Llama-3-8B shape, %lld tokens x (%lld q + %lld k heads) x %lld, bfloat16, half-split\n",
              ROPEKIT_VERSION_MAJOR, ROPEKIT_VERSION_MINOR, ROPEKIT_VERSION_PATCH,
              static_cast<long long>(kTokens), static_cast<long long>(kQHeads),
              static_cast<long long>(kKvHeads), static_cast<long long>(kHeadDim));
  std::printf("kernel path: %s\n\n", ropekit::isa_name(ropekit::active_isa()));
  demo("Default(base 500000)", Default(500000.0), 0);
  demo("Default(base 500000), deep position", Default(500000.0), 1000000);
  demo("FixedBase(1e6, pretrained 5e5)", FixedBase(1e6, 500000.0), 100000);
  demo("Linear(factor 4)", Linear(4.0, 500000.0), 20000);
  demo("NtkAware(factor 4)", NtkAware(4.0, 500000.0), 20000);
  demo("DynamicNtk(factor 4, trained 8192)", DynamicNtk(4.0, 8192, 500000.0), 20000);
  demo("Yarn(factor 4, original 8192)", Yarn(4.0, 8192, 500000.0), 20000);
  demo("Llama3::llama3_1()", Llama3::llama3_1(), 100000);
  {
    LongRope::Params p;  // Phi-3-style lists, long factors chosen past 8192
    for (int j = 0; j < kHeadDim / 2; ++j) {
      p.short_factor.push_back(1.0 + 0.01 * j);
      p.long_factor.push_back(1.0 + 0.5 * j);
    }
    p.original_max_position_embeddings = 8192;
    p.max_position_embeddings = 131072;
    p.base = 500000.0;
    demo("LongRope(per-call short/long)", LongRope(p), 20000);
  }
  demo("Mrope({16, 24, 24}), text positions", Mrope<>({16, 24, 24}, Default(500000.0)), 20000);
  std::printf("\nEvery call formed cos/sin once per token for all 40 heads, with exact angles.\n");
  return 0;
}
