// SPDX-License-Identifier: Apache-2.0
// Bad input to scaling_law.hpp: every function rejects a model, base,
// length or frequency list it cannot answer for, naming the parameter.
#include "ropekit/scaling_law.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "scaling_law_util.hpp"

namespace {

using namespace scaling_law_test;
using ropekit::RopePretraining;

TEST(Validation, Model) {
  expect_invalid(
      [] {
        ropekit::critical_dimension({0, 4096});
      },
      "ropekit: rotary_dim = 0: must be positive");
  expect_invalid(
      [] {
        ropekit::critical_dimension({-2, 4096});
      },
      "ropekit: rotary_dim = -2:");
  expect_invalid(
      [] {
        ropekit::critical_dimension({127, 4096});
      },
      "ropekit: rotary_dim = 127: must be even");
  expect_invalid(
      [] {
        ropekit::critical_dimension({131072, 4096});
      },
      "ropekit: rotary_dim = 131072:");
  expect_invalid(
      [] {
        ropekit::critical_dimension({128, 0});
      },
      "ropekit: train_length = 0:");
  expect_invalid(
      [] {
        ropekit::critical_dimension({128, -4096});
      },
      "ropekit: train_length = -4096:");
  expect_invalid(
      [] {
        ropekit::critical_dimension({128, kNan});
      },
      "ropekit: train_length = nan:");
  expect_invalid(
      [] {
        ropekit::critical_dimension({128, kInf});
      },
      "ropekit: train_length = inf:");
  expect_invalid(
      [] {
        ropekit::critical_dimension({128, 4096, 1.0});
      },
      "ropekit: base = 1: must be finite and > 1");
  expect_invalid(
      [] {
        ropekit::critical_dimension({128, 4096, 0.5});
      },
      "ropekit: base = 0.5:");
  expect_invalid(
      [] {
        ropekit::critical_dimension({128, 4096, -1e4});
      },
      "ropekit: base = -10000:");
  expect_invalid(
      [] {
        ropekit::critical_dimension({128, 4096, kInf});
      },
      "ropekit: base = inf:");
  expect_invalid([] { ropekit::pair_periods(RopePretraining{}); },
                 "ropekit: rotary_dim = 0:");
  EXPECT_THROW(ropekit::base_for_context({128, 4096, kNan}, 1e5),
               std::invalid_argument);
}

TEST(Validation, TunedBaseAndTarget) {
  expect_invalid([] { ropekit::extrapolation_limit(kLlama2, 5e3); },
                 "ropekit: tuned_base = 5000: must be finite and >= the "
                 "pretraining base 10000");
  expect_invalid([] { ropekit::extrapolation_limit(kLlama2, kInf); },
                 "ropekit: tuned_base = inf:");
  expect_invalid([] { ropekit::extrapolation_limit(kLlama2, kNan); },
                 "ropekit: tuned_base = nan:");
  expect_invalid([] { ropekit::ntk_factor_for_base(kLlama2, 1); },
                 "ropekit: tuned_base = 1:");
  expect_invalid(
      [] {
        ropekit::ntk_factor_for_base({2, 4096}, 1e5);
      },
      "ropekit: rotary_dim = 2: must be at least 4");
  expect_invalid([] { ropekit::base_for_context(kLlama2, 0); },
                 "ropekit: target_length = 0:");
  expect_invalid([] { ropekit::base_for_context(kLlama2, -1); },
                 "ropekit: target_length = -1:");
  expect_invalid([] { ropekit::base_for_context(kLlama2, kInf); },
                 "ropekit: target_length = inf:");
}

TEST(Validation, SmallerBase) {
  expect_invalid([] { ropekit::smaller_base_thresholds(0); },
                 "ropekit: train_length = 0:");
  expect_invalid([] { ropekit::classify_base(0, 4096); }, "ropekit: base = 0:");
  expect_invalid([] { ropekit::classify_base(kNan, 4096); },
                 "ropekit: base = nan:");
  expect_invalid([] { ropekit::classify_base(500, -1); },
                 "ropekit: train_length = -1:");
}

TEST(Validation, Frequencies) {
  const double bad[] = {1.0, 0.5, -0.25};
  const double nan_freq[] = {1.0, kNan};
  expect_invalid([&] { ropekit::pair_periods(bad, 3, 4096); },
                 "ropekit: inv_freq[2] = -0.25: must be finite and >= 0");
  expect_invalid([&] { ropekit::decay_bound_holds(nan_freq, 2, 4096); },
                 "ropekit: inv_freq[1] = nan:");
  expect_invalid([&] { ropekit::first_decay_violation(bad, 0, 4096); },
                 "ropekit: pairs = 0:");
  expect_invalid([] { ropekit::decay_sum(nullptr, 4, 10); },
                 "ropekit: inv_freq = nullptr:");
  expect_invalid([&] { ropekit::pair_periods(bad, 2, 0); },
                 "ropekit: length = 0:");
  expect_invalid([] { ropekit::pair_periods(std::vector<double>{}, 4096); },
                 "ropekit: pairs = 0:");
}

TEST(Validation, DecayBound) {
  expect_invalid([] { ropekit::decay_bound_holds(128, 1e4, 0); },
                 "ropekit: context_length = 0:");
  expect_invalid([] { ropekit::first_decay_violation(128, 1e4, -5); },
                 "ropekit: context_length = -5:");
  expect_invalid([] { ropekit::decay_bound_holds(127, 1e4, 4096); },
                 "ropekit: rotary_dim = 127:");
  expect_invalid([] { ropekit::decay_bound_holds(128, 0, 4096); },
                 "ropekit: base = 0:");
  expect_invalid([] { ropekit::first_decay_violation(128, kInf, 4096); },
                 "ropekit: base = inf:");
  expect_invalid([] { ropekit::decay_sum(128, 1e4, -1); },
                 "ropekit: position = -1:");
  expect_invalid([] { ropekit::min_base_for_context(0, 128); },
                 "ropekit: context_length = 0:");
  expect_invalid([] { ropekit::min_base_for_context(4096, 0); },
                 "ropekit: rotary_dim = 0:");
  expect_invalid(
      [] {
        ropekit::min_base_for_context(4096, 128, {0, 0.01});
      },
      "ropekit: grid.start = 0:");
  expect_invalid(
      [] {
        ropekit::min_base_for_context(4096, 128, {1e3, 0});
      },
      "ropekit: grid.log10_step = 0:");
  expect_invalid(
      [] {
        ropekit::min_base_for_context(4096, 128, {1e3, 0.01, 10});
      },
      "ropekit: grid.stop = 10: must be finite and >= grid.start");
  expect_invalid(
      [] {
        ropekit::min_base_for_context(4096, 128, {1e3, 0.01, kNan});
      },
      "ropekit: grid.stop = nan:");
}

}  // namespace
