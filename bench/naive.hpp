// SPDX-License-Identifier: Apache-2.0
// The two implementations a user writes before reaching for a library, as
// baselines: a plain loop over a precomputed float cos/sin table, and the
// same with Eigen array expressions.
#ifndef ROPEKIT_BENCH_NAIVE_HPP
#define ROPEKIT_BENCH_NAIVE_HPP

#include <cmath>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace bench {

// cos/sin rows for positions [first, first + count), float32 angles as in
// transformers (built outside the timed region).
struct NaiveTable {
  NaiveTable(const std::vector<double>& inv_freq, std::int64_t first, std::int64_t count)
      : half(static_cast<std::int64_t>(inv_freq.size())), first(first),
        cos(static_cast<std::size_t>(count * half)), sin(cos.size()) {
    for (std::int64_t p = 0; p < count; ++p)
      for (std::int64_t j = 0; j < half; ++j) {
        const float angle = static_cast<float>(first + p) * static_cast<float>(inv_freq[j]);
        cos[p * half + j] = std::cos(angle);
        sin[p * half + j] = std::sin(angle);
      }
  }
  std::int64_t half, first;
  std::vector<float> cos, sin;
};

// x: [tokens, heads, head_dim] floats at positions first.. of the table.
inline void naive_loop(float* x, std::int64_t tokens, std::int64_t heads, std::int64_t head_dim,
                       bool interleaved, const NaiveTable& table) {
  const std::int64_t half = table.half;
  for (std::int64_t t = 0; t < tokens; ++t) {
    const float* c = &table.cos[t * half];
    const float* s = &table.sin[t * half];
    for (std::int64_t h = 0; h < heads; ++h) {
      float* v = x + (t * heads + h) * head_dim;
      for (std::int64_t j = 0; j < half; ++j) {
        const std::int64_t i0 = interleaved ? 2 * j : j;
        const std::int64_t i1 = interleaved ? 2 * j + 1 : j + half;
        const float a = v[i0], b = v[i1];
        v[i0] = a * c[j] - b * s[j];
        v[i1] = b * c[j] + a * s[j];
      }
    }
  }
}

// Half-split with Eigen arrays; interleaved through strided maps.
inline void eigen_arrays(float* x, std::int64_t tokens, std::int64_t heads, std::int64_t head_dim,
                         bool interleaved, const NaiveTable& table) {
  using Array = Eigen::Array<float, Eigen::Dynamic, 1>;
  using Strided = Eigen::Map<Array, 0, Eigen::InnerStride<2>>;
  const Eigen::Index half = table.half;
  for (std::int64_t t = 0; t < tokens; ++t) {
    const Eigen::Map<const Array> c(&table.cos[t * half], half);
    const Eigen::Map<const Array> s(&table.sin[t * half], half);
    for (std::int64_t h = 0; h < heads; ++h) {
      float* v = x + (t * heads + h) * head_dim;
      if (interleaved) {
        Strided a(v, half), b(v + 1, half);
        const Array a0 = a;
        a = a0 * c - b * s;
        b = b * c + a0 * s;
      } else {
        Eigen::Map<Array> a(v, half), b(v + half, half);
        const Array a0 = a;
        a = a0 * c - b * s;
        b = b * c + a0 * s;
      }
    }
  }
}

}  // namespace bench

#endif  // ROPEKIT_BENCH_NAIVE_HPP
