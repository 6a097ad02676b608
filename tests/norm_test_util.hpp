// SPDX-License-Identifier: Apache-2.0
// Helpers of the fused QK-norm tests: inputs whose heads differ in RMS, norm
// weights, transformers' float32 RMSNorm written out independently, the
// exact norm factor in long double, and a per-channel comparison whose bound
// scales with the normalised pair a channel belongs to.
#ifndef ROPEKIT_TESTS_NORM_TEST_UTIL_HPP
#define ROPEKIT_TESTS_NORM_TEST_UTIL_HPP

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace ropekit_test {

/// Stored value as float: FP8 codes times the view's scale, else widened.
template <class T>
float stored_value(T x, float scale) {
  if constexpr (ropekit::is_fp8_v<T>) return static_cast<float>(x) * scale;
  else return static_cast<float>(static_cast<ropekit::widened_t<T>>(x));
}

/// The same as double (double storage keeps its precision).
template <class T>
double value_of(T x, float scale) {
  if constexpr (std::is_same_v<T, double>) return x;
  else return static_cast<double>(stored_value(x, scale));
}

/// [tokens, heads, head_dim] values in [-2, 2) times 2^(h % 7 - 3) per head,
/// so that heads differ in RMS by up to 64x; FP8 codes hold value / scale.
template <class T>
std::vector<T> norm_input(std::int64_t tokens, std::int64_t heads, std::int64_t head_dim,
                          unsigned seed, float scale = 1.0f) {
  const auto values = random_values<float>(static_cast<std::size_t>(tokens * heads * head_dim), seed);
  std::vector<T> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto h = static_cast<std::int64_t>(i / static_cast<std::size_t>(head_dim)) % heads;
    const float v = std::ldexp(values[i], static_cast<int>(h % 7) - 3);
    if constexpr (ropekit::is_fp8_v<T>) out[i] = T(v / scale);
    else out[i] = static_cast<T>(v);
  }
  return out;
}

/// Per-channel weights as checkpoints hold them: around 1 for multiply
/// (Qwen3), around 0 for one_plus (Gemma 3 stores w - 1).
inline std::vector<float> norm_weights(std::int64_t head_dim, ropekit::NormWeight kind,
                                       unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> dist(-0.75f, 0.75f);
  std::vector<float> w(static_cast<std::size_t>(head_dim));
  for (auto& x : w) x = dist(engine) + (kind == ropekit::NormWeight::multiply ? 1.0f : 0.0f);
  return w;
}

/// The weight as it multiplies: w, or (1 + w) rounded to float.
inline float effective_weight(float w, ropekit::NormWeight kind) {
  return kind == ropekit::NormWeight::one_plus ? 1.0f + w : w;
}

/// transformers' RMSNorm of one head in float32, written out: the mean
/// square in float, r = 1 / sqrt(mean + eps) in float, then (x * r) times
/// the weight (Qwen3RMSNorm.forward in models/qwen3/modeling_qwen3.py:
/// `variance = hidden_states.pow(2).mean(-1)`, `hidden_states *
/// torch.rsqrt(variance + eps)`, `weight * hidden_states`; Gemma3RMSNorm in
/// models/gemma3/modeling_gemma3.py: the same, times `1.0 + weight.float()`).
/// The mean square is accumulated in float, in order, as a plain loop does.
inline float hf_rms_factor(const float* x, std::int64_t n, float eps) {
  float sum = 0.0f;
  for (std::int64_t c = 0; c < n; ++c) sum += x[c] * x[c];
  const float variance = sum / static_cast<float>(n);
  return 1.0f / std::sqrt(variance + eps);
}

inline void hf_rms_norm(const float* x, float* y, std::int64_t n, const float* weight, float eps,
                        ropekit::NormWeight kind) {
  const float r = hf_rms_factor(x, n, eps);
  for (std::int64_t c = 0; c < n; ++c) y[c] = (x[c] * r) * effective_weight(weight[c], kind);
}

/// 1 / sqrt(mean(x^2) + eps), in long double.
inline long double exact_rms_factor(const float* x, std::int64_t n, float eps) {
  long double sum = 0.0L;
  for (std::int64_t c = 0; c < n; ++c) sum += static_cast<long double>(x[c]) * x[c];
  return 1.0L / std::sqrt(sum / static_cast<long double>(n) + static_cast<long double>(eps));
}

/// A contiguous [tokens, heads, head_dim] tensor's norm, per head: the
/// stored values as float, the exact normalised values y = x * r * w' and
/// the relative error of transformers' float factor against the exact one.
struct NormedTensor {
  std::vector<float> input;         // stored values
  std::vector<float> hf;            // transformers' float32 RMSNorm of input
  std::vector<double> exact;        // x * r_exact * w', r_exact in long double
  std::vector<double> hf_r_error;   // |r_hf / r_exact - 1|, per (token, head)
};

template <class T>
NormedTensor normed(const std::vector<T>& x, std::int64_t head_dim, const float* weight,
                    float eps, ropekit::NormWeight kind, float scale = 1.0f) {
  NormedTensor n;
  n.input.resize(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) n.input[i] = stored_value(x[i], scale);
  n.hf.resize(x.size());
  n.exact.resize(x.size());
  for (std::size_t at = 0; at < x.size(); at += static_cast<std::size_t>(head_dim)) {
    const float* head = n.input.data() + at;
    hf_rms_norm(head, n.hf.data() + at, head_dim, weight, eps, kind);
    const long double r = exact_rms_factor(head, head_dim, eps);
    for (std::int64_t c = 0; c < head_dim; ++c)
      n.exact[at + static_cast<std::size_t>(c)] = static_cast<double>(
          static_cast<long double>(head[c]) * r * effective_weight(weight[c], kind));
    n.hf_r_error.push_back(static_cast<double>(
        std::fabs(static_cast<long double>(hf_rms_factor(head, head_dim, eps)) / r - 1.0L)));
  }
  return n;
}

/// Unit roundoff and subnormal spacing of every storage type, FP8 included.
template <class T>
double storage_roundoff() {
  if constexpr (std::is_same_v<T, ropekit::float8_e4m3fn>) return 0x1p-4;
  else if constexpr (std::is_same_v<T, ropekit::float8_e5m2>) return 0x1p-3;
  else return unit_roundoff<T>();
}
template <class T>
double storage_spacing() {
  if constexpr (std::is_same_v<T, ropekit::float8_e4m3fn>) return 0x1p-9;
  else if constexpr (std::is_same_v<T, ropekit::float8_e5m2>) return 0x1p-16;
  else return subnormal_spacing<T>();
}
/// The rounding a narrow type adds to a float result (none for float).
template <class T>
double narrow_roundoff() {
  return std::is_same_v<T, float> ? 0.0 : storage_roundoff<T>();
}

/// The partner channel of channel c of a head, or -1 when c does not rotate.
/// Half-split heads may rotate in `parts` runs of 2 * pairs / parts channels.
inline std::int64_t partner(const ropekit::RotaryDims& dims, ropekit::Layout layout,
                            std::int64_t c, std::int64_t parts = 1) {
  const std::int64_t rel = c - dims.offset();
  if (rel < 0 || rel >= dims.rotary_dim()) return -1;
  if (layout == ropekit::Layout::interleaved) return dims.offset() + (rel ^ 1);
  const std::int64_t half = dims.pairs() / parts;
  return rel % (2 * half) < half ? c + half : c - half;
}

/// The bound of a comparison, per channel: rotated channels get
/// `rotated * m * (|y_c| + |y_partner|)`, the others `passed * |y_c|`
/// (y the exact normalised values), each plus `head_rel[head]` times the
/// same magnitude, plus `absolute`.
struct NormBound {
  double rotated, passed, absolute;
  const std::vector<double>* head_rel;  // nullptr: none
  std::int64_t parts = 1;               // half-split runs per head (see partner)
};

/// Asserts |actual - expected| within the bound on every channel and
/// returns the largest error over its magnitude (the relative terms' unit)
/// beyond the head's own `head_rel` term.
template <class T>
double expect_within(const std::vector<T>& actual, const std::vector<double>& expected,
                     const std::vector<double>& y, const ropekit::RotaryDims& dims,
                     ropekit::Layout layout, double m, const NormBound& bound, float scale,
                     const std::string& what) {
  const std::int64_t d = dims.head_dim();
  double worst = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const auto c = static_cast<std::int64_t>(i % static_cast<std::size_t>(d));
    const std::size_t head = i / static_cast<std::size_t>(d);
    const std::int64_t p = partner(dims, layout, c, bound.parts);
    const double magnitude =
        p < 0 ? std::fabs(y[i]) : m * (std::fabs(y[i]) + std::fabs(y[i - static_cast<std::size_t>(c) + static_cast<std::size_t>(p)]));
    const double own = bound.head_rel != nullptr ? (*bound.head_rel)[head] : 0.0;
    const double rel = (p < 0 ? bound.passed : bound.rotated) + own;
    const double error = std::fabs(value_of(actual[i], scale) - expected[i]);
    if (magnitude > 0) worst = std::max(worst, error / magnitude - own);
    if (!(error <= rel * magnitude + bound.absolute)) {
      ADD_FAILURE() << what << ": channel " << c << " of head " << head << " (partner " << p
                    << "): got " << value_of(actual[i], scale) << ", expected " << expected[i]
                    << ", error " << error << " > " << rel * magnitude + bound.absolute;
      return worst;
    }
  }
  return worst;
}

}  // namespace ropekit_test

#endif  // ROPEKIT_TESTS_NORM_TEST_UTIL_HPP
