// SPDX-License-Identifier: Apache-2.0
// Shared by the scaling_law.hpp tests: the LLaMA-2 model and a check that a
// call throws std::invalid_argument naming the right parameter.
#ifndef ROPEKIT_TESTS_SCALING_LAW_UTIL_HPP
#define ROPEKIT_TESTS_SCALING_LAW_UTIL_HPP

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>

#include "ropekit/scaling_law.hpp"

namespace scaling_law_test {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// LLaMA-2: d = 128, pretrained at 4096 with base 10000.
inline const ropekit::RopePretraining kLlama2{128, 4096, 1e4};

// Runs `call`, expects std::invalid_argument whose message contains
// `expected` (e.g. "ropekit: rotary_dim = 127:"), so a check that fires for
// the wrong parameter fails the test.
template <class Call>
void expect_invalid(Call&& call, const std::string& expected) {
  try {
    call();
    ADD_FAILURE() << "no exception; expected one containing \"" << expected
                  << "\"";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find(expected), std::string::npos)
        << "message: " << error.what();
  }
}

}  // namespace scaling_law_test

#endif  // ROPEKIT_TESTS_SCALING_LAW_UTIL_HPP
