// SPDX-License-Identifier: Apache-2.0
// The unfused QK-norm baseline's first pass: transformers' RMSNorm over rows
// of `d` elements in place, vectorised with a kernel path's `ops` (the same
// loads, stores and conversions ropekit's kernels use). Included, without
// an include guard, inside a namespace that defines `ops` and sits in that
// path's target region, like include/ropekit/detail/kernel-inl.hpp.

template <class T>
void rms_norm_rows(T* x, std::int64_t rows, std::int64_t d, const float* weight, float eps) {
  using vf = typename ops::vf;
  for (std::int64_t row = 0; row < rows; ++row, x += d) {
    vf squares = ops::set1(0.0f);
    std::int64_t c = 0;
    for (; c + ops::kF <= d; c += ops::kF) {
      const vf v = ops::load(x + c);
      squares = ops::fmadd(v, v, squares);
    }
    alignas(64) float lanes[ops::kF];
    ops::store(lanes, squares);
    float sum = 0.0f;
    for (int i = 0; i < ops::kF; ++i) sum += lanes[i];
    for (std::int64_t tail = c; tail < d; ++tail) sum += static_cast<float>(x[tail]) * static_cast<float>(x[tail]);
    const float r = 1.0f / std::sqrt(sum / static_cast<float>(d) + eps);
    const vf rv = ops::set1(r);
    for (c = 0; c + ops::kF <= d; c += ops::kF)
      ops::store(x + c, ops::mul(ops::mul(ops::load(x + c), rv), ops::load(weight + c)));
    for (; c < d; ++c) x[c] = T(static_cast<float>(x[c]) * r * weight[c]);
  }
}
