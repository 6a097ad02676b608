// SPDX-License-Identifier: Apache-2.0
// Eigen adapters describe the same heads as the raw-pointer views.
#include <gtest/gtest.h>

#include <vector>

#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

constexpr std::int64_t kTokens = 3, kHeads = 2, kDim = 8;

std::vector<float> rotated_contiguous(std::vector<float> x) {
  Rope<scaling::Default> rope{RotaryDims(kDim)};
  rope.apply_q(token_major_view(x.data(), kTokens, kHeads, kDim), Positions::starting_at(11));
  return x;
}

TEST(EigenViews, RowMajorTensorMap) {
  auto x = random_values<float>(kTokens * kHeads * kDim, 1);
  const auto expected = rotated_contiguous(x);
  Eigen::TensorMap<Eigen::Tensor<float, 3, Eigen::RowMajor>> map(x.data(), kTokens, kHeads, kDim);
  const HeadView<float> view = view_of(map);
  EXPECT_EQ(view.tokens(), kTokens);
  EXPECT_EQ(view.heads(), kHeads);
  Rope<scaling::Default> rope{RotaryDims(kDim)};
  rope.apply_q(view, Positions::starting_at(11));
  EXPECT_TRUE(bytes_equal(x, expected));
}

TEST(EigenViews, ColumnMajorTensor) {
  auto x = random_values<float>(kTokens * kHeads * kDim, 2);
  const auto expected = rotated_contiguous(x);
  Eigen::Tensor<float, 3> tensor(kDim, kHeads, kTokens);  // column-major (dim, heads, tokens)
  std::copy(x.begin(), x.end(), tensor.data());
  Rope<scaling::Default> rope{RotaryDims(kDim)};
  rope.apply_q(view_of(tensor), Positions::starting_at(11));
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), tensor.data()));
}

TEST(EigenViews, MatrixMapWithOuterStride) {
  // Token rows of a fused buffer: q occupies the first kHeads*kDim columns of
  // each 40-wide row.
  const std::int64_t row = 40;
  auto fused = random_values<float>(kTokens * row, 3);
  std::vector<float> q(kTokens * kHeads * kDim);
  for (std::int64_t t = 0; t < kTokens; ++t)
    for (std::int64_t i = 0; i < kHeads * kDim; ++i) q[t * kHeads * kDim + i] = fused[t * row + i];
  const auto expected = rotated_contiguous(q);
  using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>> map(
      fused.data(), kTokens, kHeads * kDim, Eigen::OuterStride<>(row));
  const HeadView<float> view = view_of(map, kDim);
  EXPECT_EQ(view.token_stride(), row);
  EXPECT_EQ(view.heads(), kHeads);
  Rope<scaling::Default> rope{RotaryDims(kDim)};
  rope.apply_q(view, Positions::starting_at(11));
  for (std::int64_t t = 0; t < kTokens; ++t)
    for (std::int64_t i = 0; i < kHeads * kDim; ++i)
      ASSERT_EQ(fused[t * row + i], expected[t * kHeads * kDim + i]);
}

TEST(EigenViews, ColumnMajorMatrixMapHoldsOneTokenPerColumn) {
  auto x = random_values<float>(kTokens * kHeads * kDim, 4);
  const auto expected = rotated_contiguous(x);
  Eigen::Map<Eigen::MatrixXf> map(x.data(), kHeads * kDim, kTokens);
  Rope<scaling::Default> rope{RotaryDims(kDim)};
  rope.apply_q(view_of(map, kDim), Positions::starting_at(11));
  EXPECT_TRUE(bytes_equal(x, expected));
}

TEST(EigenViews, RejectsWidthNotMultipleOfHeadDim) {
  std::vector<float> x(3 * 10);
  Eigen::Map<Eigen::MatrixXf> map(x.data(), 10, 3);
  EXPECT_THROW(view_of(map, 4), std::invalid_argument);
}

}  // namespace
