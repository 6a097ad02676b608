// SPDX-License-Identifier: Apache-2.0
// The in-place pass's loop (bench_support.hpp): dst[i] = D(src[i] * one)
// with a kernel path's `ops`, two vectors per step as the kernels store
// them. Included, without an include guard, inside a namespace that
// defines `ops` and `store_pair` (the kernel's) and sits in that path's
// target region, like include/ropekit/detail/kernel-inl.hpp.

template <class S, class D>
void scale_into(const S* src, D* dst, std::int64_t n, float one) {
  const typename ops::vf s = ops::set1(one);
  constexpr std::int64_t kF = ops::kF;
  std::int64_t i = 0;
  for (; i + 2 * kF <= n; i += 2 * kF)
    store_pair(dst + i, ops::mul(ops::load(src + i), s), ops::mul(ops::load(src + i + kF), s));
  for (; i + kF <= n; i += kF) ops::store(dst + i, ops::mul(ops::load(src + i), s));
  if (i < n)
    ops::store_partial(dst + i, ops::mul(ops::load_partial(src + i, static_cast<int>(n - i)), s),
                       static_cast<int>(n - i));
}
