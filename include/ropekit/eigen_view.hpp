// SPDX-License-Identifier: Apache-2.0
// HeadView adapters for Eigen containers an engine may already hold.
#ifndef ROPEKIT_EIGEN_VIEW_HPP
#define ROPEKIT_EIGEN_VIEW_HPP

#include <cstdint>
#include <string>

#include <Eigen/Core>
#include <unsupported/Eigen/CXX11/Tensor>

#include "error.hpp"
#include "version.hpp"
#include "view.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// A rank-3 `Eigen::TensorMap`: row-major `[tokens, heads, head_dim]`, or
/// column-major `(head_dim, heads, tokens)` (the same memory).
template <class T, int Options, class IndexType, template <class> class MakePointer>
HeadView<T> view_of(const Eigen::TensorMap<Eigen::Tensor<T, 3, Options, IndexType>, 0,
                                           MakePointer>& tensor) {
  if constexpr ((Options & Eigen::RowMajor) != 0) {
    return token_major_view(tensor.data(), static_cast<std::int64_t>(tensor.dimension(0)),
                            static_cast<std::int64_t>(tensor.dimension(1)),
                            static_cast<std::int64_t>(tensor.dimension(2)));
  } else {
    return token_major_view(tensor.data(), static_cast<std::int64_t>(tensor.dimension(2)),
                            static_cast<std::int64_t>(tensor.dimension(1)),
                            static_cast<std::int64_t>(tensor.dimension(0)));
  }
}

/// A rank-3 `Eigen::Tensor` (owning), same conventions as the TensorMap form.
template <class T, int Options, class IndexType>
HeadView<T> view_of(Eigen::Tensor<T, 3, Options, IndexType>& tensor) {
  return view_of(Eigen::TensorMap<Eigen::Tensor<T, 3, Options, IndexType>>(
      tensor.data(), tensor.dimension(0), tensor.dimension(1), tensor.dimension(2)));
}

/// A matrix map with one token per row (row-major) or per column
/// (column-major), each token holding `heads_dim / head_dim` heads side by
/// side. The outer stride becomes the token stride, so a block of a fused
/// QKV matrix works directly. The inner stride must be 1.
template <class Matrix, int MapOptions, class Stride>
HeadView<typename Matrix::Scalar> view_of(Eigen::Map<Matrix, MapOptions, Stride> map,
                                          std::int64_t head_dim) {
  using T = typename Matrix::Scalar;
  detail::require(head_dim > 0, "head_dim", head_dim, "must be positive");
  const bool row_major = (Matrix::Flags & Eigen::RowMajorBit) != 0;
  const std::int64_t tokens = row_major ? map.rows() : map.cols();
  const std::int64_t width = row_major ? map.cols() : map.rows();
  detail::require(map.innerStride() == 1, "map inner stride",
                  static_cast<std::int64_t>(map.innerStride()),
                  "must be 1 (a head's channels must be contiguous)");
  if (width % head_dim != 0)
    detail::fail("map width", width,
                 "must be a multiple of head_dim = " + std::to_string(head_dim));
  return HeadView<T>(map.data(), tokens, width / head_dim, head_dim,
                     static_cast<std::int64_t>(map.outerStride()), head_dim);
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_EIGEN_VIEW_HPP
