// SPDX-License-Identifier: Apache-2.0
// One binary links a baseline, an AVX2 and an AVX-512 unit that instantiate
// the same ropekit templates. Were those instantiations shared (the linker keeps one
// copy of an inline function), one unit would run the other's kernel: its
// bits would match the wrong path. Each unit must produce exactly its own
// path's bits, computed here with forced dispatch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../test_util.hpp"

const char* rotate_in_avx2_unit(float* q, float* k, std::int64_t tokens);
const char* rotate_in_avx512_unit(float* q, float* k, std::int64_t tokens);
const char* rotate_in_baseline_unit(float* q, float* k, std::int64_t tokens);
double api_in_avx2_unit(std::int64_t tokens);
double api_in_avx512_unit(std::int64_t tokens);
double api_in_baseline_unit(std::int64_t tokens);

namespace {

using namespace ropekit;
using namespace ropekit_test;

constexpr std::int64_t kTokens = 3;

std::vector<float> expected(Isa isa, const std::vector<float>& input, std::int64_t heads) {
  force_isa(isa);
  std::vector<float> x = input;
  Rope<scaling::Default> rope(RotaryDims(128), scaling::Default(500000.0));
  rope.apply_q(token_major_view(x.data(), kTokens, heads, 128), Positions::starting_at(99990));
  return x;
}

TEST(Odr, UnitsWithDifferentFlagsKeepTheirOwnKernels) {
  if (!cpu_supports(Isa::avx2)) GTEST_SKIP() << "this CPU has no AVX2";
  Isa previous = Isa::scalar;
  const bool had_forced = forced_isa(&previous);
  const auto q0 = random_values<float>(kTokens * 4 * 128, 1);
  const auto k0 = random_values<float>(kTokens * 2 * 128, 2);
  const auto q_scalar = expected(Isa::scalar, q0, 4), q_avx2 = expected(Isa::avx2, q0, 4);
  const auto k_scalar = expected(Isa::scalar, k0, 2), k_avx2 = expected(Isa::avx2, k0, 2);
  ASSERT_FALSE(bytes_equal(q_scalar, q_avx2)) << "inputs must tell the two paths apart";
  ASSERT_FALSE(bytes_equal(k_scalar, k_avx2));
  clear_forced_isa();  // each unit chooses for itself

  auto q = q0, k = k0;
  EXPECT_STREQ(rotate_in_avx2_unit(q.data(), k.data(), kTokens), "avx2");
  EXPECT_TRUE(bytes_equal(q, q_avx2));
  EXPECT_TRUE(bytes_equal(k, k_avx2));
  q = q0;
  k = k0;
  EXPECT_STREQ(rotate_in_baseline_unit(q.data(), k.data(), kTokens), "scalar");
  EXPECT_TRUE(bytes_equal(q, q_scalar));
  EXPECT_TRUE(bytes_equal(k, k_scalar));

  if (cpu_supports(Isa::avx512)) {
    const auto q_avx512 = expected(Isa::avx512, q0, 4), k_avx512 = expected(Isa::avx512, k0, 2);
    ASSERT_FALSE(bytes_equal(q_scalar, q_avx512));
    clear_forced_isa();
    q = q0;
    k = k0;
    EXPECT_STREQ(rotate_in_avx512_unit(q.data(), k.data(), kTokens), "avx512");
    EXPECT_TRUE(bytes_equal(q, q_avx512));
    EXPECT_TRUE(bytes_equal(k, k_avx512));
  }
  if (had_forced) force_isa(previous);
}

// The rest of the API, from each unit this CPU can run: the same results to
// float precision (each unit on its own path).
TEST(Odr, EveryUnitRunsTheWholeApi) {
  Isa previous = Isa::scalar;
  const bool had_forced = forced_isa(&previous);
  clear_forced_isa();  // each unit chooses for itself
  const double baseline = api_in_baseline_unit(5);
  if (cpu_supports(Isa::avx2)) {
    EXPECT_NEAR(api_in_avx2_unit(5), baseline, 1e-4 * std::fabs(baseline));
  }
  if (cpu_supports(Isa::avx512)) {
    EXPECT_NEAR(api_in_avx512_unit(5), baseline, 1e-4 * std::fabs(baseline));
  }
  if (had_forced) force_isa(previous);
}

}  // namespace
