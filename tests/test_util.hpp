// SPDX-License-Identifier: Apache-2.0
// Shared test helpers: the storage x layout type list, deterministic inputs,
// an independent long-double oracle, and the list of policies every property
// test runs over.
#ifndef ROPEKIT_TESTS_TEST_UTIL_HPP
#define ROPEKIT_TESTS_TEST_UTIL_HPP

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <ropekit/ropekit.hpp>

namespace ropekit_test {

using ropekit::Layout;

template <class T, Layout L>
struct Config {
  using type = T;
  static constexpr Layout layout = L;
};

using AllConfigs = ::testing::Types<
    Config<float, Layout::half_split>, Config<float, Layout::interleaved>,
    Config<double, Layout::half_split>, Config<double, Layout::interleaved>,
    Config<Eigen::half, Layout::half_split>, Config<Eigen::half, Layout::interleaved>,
    Config<Eigen::bfloat16, Layout::half_split>, Config<Eigen::bfloat16, Layout::interleaved>>;

struct ConfigNames {
  template <class C>
  static std::string GetName(int) {
    return std::string(ropekit::storage_name<typename C::type>()) + "_" +
           ropekit::layout_name(C::layout);
  }
};

/// Unit roundoff of the storage type (half an ulp at 1).
template <class T>
constexpr double unit_roundoff() {
  if constexpr (std::is_same_v<T, double>) return 0x1p-53;
  else if constexpr (std::is_same_v<T, float>) return 0x1p-24;
  else if constexpr (std::is_same_v<T, Eigen::half>) return 0x1p-11;
  else return 0x1p-8;
}

/// Absolute cos/sin error that limits double storage: ropekit's reduced
/// angle (~1e-16 rad) and libm, plus the long-double oracle's own angle
/// rounding, position * ω * 2^-63, which dominates at large positions.
constexpr double cos_sin_error(double max_position) {
  return 2e-15 + max_position * 0x1p-62;
}

/// Tolerance for a rotated element whose pair has magnitude up to `magnitude`:
/// `roundings` roundings to T plus the cos/sin error.
template <class T>
double rotation_tolerance(double magnitude, double roundings = 3.0,
                          double max_position = 1.1e6) {
  return magnitude * (roundings * unit_roundoff<T>() + cos_sin_error(max_position));
}

template <class T>
double to_double(T value) {
  return static_cast<double>(static_cast<ropekit::widened_t<T>>(value));
}

/// Values in [-2, 2), exactly representable in T, deterministic per seed.
template <class T>
std::vector<T> random_values(std::size_t n, unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(engine));
  return v;
}

template <class T>
bool bytes_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

/// Independent oracle: rotates a contiguous [tokens, heads, head_dim] buffer
/// in long double with the given inverse frequencies, computing every angle
/// directly as position * ω (no reduction tricks).
inline std::vector<long double> oracle_rotate(const std::vector<long double>& input,
                                              std::int64_t tokens, std::int64_t heads,
                                              std::int64_t head_dim, std::int64_t rotary_dim,
                                              Layout layout,
                                              const std::vector<std::int64_t>& positions,
                                              const std::vector<long double>& inv_freq,
                                              long double attention_factor = 1.0L) {
  std::vector<long double> out = input;
  const std::int64_t half = rotary_dim / 2;
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (std::int64_t h = 0; h < heads; ++h) {
      long double* x = out.data() + (t * heads + h) * head_dim;
      for (std::int64_t j = 0; j < half; ++j) {
        const long double angle = static_cast<long double>(positions[t]) * inv_freq[j];
        const long double c = std::cos(angle) * attention_factor;
        const long double s = std::sin(angle) * attention_factor;
        const std::int64_t i0 = layout == Layout::half_split ? j : 2 * j;
        const std::int64_t i1 = layout == Layout::half_split ? j + half : 2 * j + 1;
        const long double a = x[i0], b = x[i1];
        x[i0] = a * c - b * s;
        x[i1] = b * c + a * s;
      }
    }
  }
  return out;
}

/// ω_j = base^(-2j/d) computed independently of the library.
inline std::vector<long double> default_inv_freq(long double base, std::int64_t rotary_dim) {
  std::vector<long double> w(static_cast<std::size_t>(rotary_dim / 2));
  for (std::size_t j = 0; j < w.size(); ++j)
    w[j] = std::pow(base, -2.0L * static_cast<long double>(j) / static_cast<long double>(rotary_dim));
  return w;
}

/// Calls f(policy) for every policy the property tests cover, each set up so
/// that its scaling is active (factor > 1 and, for length-dependent ones,
/// positions past the trained length).
template <class F>
void for_each_policy(F&& f) {
  namespace s = ropekit::scaling;
  f(s::Default(10000.0));
  f(s::FixedBase(1000000.0, 10000.0));
  f(s::Linear(4.0, 10000.0));
  f(s::NtkAware(4.0, 10000.0));
  f(s::DynamicNtk(4.0, 64, 10000.0));
}

}  // namespace ropekit_test

#endif  // ROPEKIT_TESTS_TEST_UTIL_HPP
