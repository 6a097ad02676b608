// SPDX-License-Identifier: Apache-2.0
// Table-driven bad-input tests: each row is one invalid call on a canvas of
// buffers, and must throw std::invalid_argument whose message starts with
// "ropekit: " and contains the row's needles (the parameter and its value),
// leaving every buffer of the canvas byte for byte as it was. A canvas is
// default-constructible, copyable and has `bool same(const Canvas&) const`.
#ifndef ROPEKIT_TESTS_BAD_CALL_HPP
#define ROPEKIT_TESTS_BAD_CALL_HPP

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ropekit_test {

template <class Canvas>
struct BadCall {
  const char* name;
  std::vector<const char*> needles;
  std::function<void(Canvas&)> call;
};

// gtest prints a failing row by its name.
template <class Canvas>
void PrintTo(const BadCall<Canvas>& row, std::ostream* out) {
  *out << row.name;
}

template <class Canvas>
std::string bad_call_name(const ::testing::TestParamInfo<BadCall<Canvas>>& info) {
  return info.param.name;
}

template <class Canvas>
void expect_rejected_writing_nothing(const BadCall<Canvas>& row) {
  Canvas canvas;
  const Canvas before = canvas;
  try {
    row.call(canvas);
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("ropekit: ", 0), 0u) << message;
    for (const char* needle : row.needles)
      EXPECT_NE(message.find(needle), std::string::npos)
          << "'" << needle << "' not in: " << message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
  EXPECT_TRUE(canvas.same(before)) << "a buffer changed";
}

}  // namespace ropekit_test

#endif  // ROPEKIT_TESTS_BAD_CALL_HPP
