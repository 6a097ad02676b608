// SPDX-License-Identifier: Apache-2.0
// Helpers for the tests of where rotations land in a head (rotated slices at
// an offset, proportional RoPE, 2-D vision RoPE): channel pairs the tests
// derive themselves from each model's definition, a long-double oracle over
// them, and the comparison of every SIMD path with the scalar reference.
#ifndef ROPEKIT_TESTS_GEOMETRY_UTIL_HPP
#define ROPEKIT_TESTS_GEOMETRY_UTIL_HPP

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace ropekit_test {

// One rotation pair: channels (first, second) of every head turn by
// position[axis] * inv_freq.
struct ChannelPair {
  std::int64_t first, second;
  int axis;
  long double inv_freq;
};

// Half-split pairs (offset + j, offset + rotary/2 + j) or interleaved
// (offset + 2j, offset + 2j + 1), j < inv_freq.size(), all on axis 0.
inline std::vector<ChannelPair> slice_pairs(ropekit::Layout layout, std::int64_t offset,
                                            const std::vector<long double>& inv_freq) {
  std::vector<ChannelPair> pairs;
  const auto half = static_cast<std::int64_t>(inv_freq.size());
  for (std::int64_t j = 0; j < half; ++j) {
    const bool split = layout == ropekit::Layout::half_split;
    pairs.push_back({offset + (split ? j : 2 * j), offset + (split ? j + half : 2 * j + 1), 0,
                     inv_freq[static_cast<std::size_t>(j)]});
  }
  return pairs;
}

// Channels of rotated pair j (j < dims.pairs()) within a head: the slice at
// dims.offset(), half-split in `parts` parts of its own (a vision tower's
// per-axis pairing) or interleaved.
inline std::pair<std::int64_t, std::int64_t> pair_channels(ropekit::Layout layout,
                                                           const ropekit::RotaryDims& dims,
                                                           std::int64_t j, std::int64_t parts = 1) {
  if (layout == ropekit::Layout::interleaved) return {dims.offset() + 2 * j, dims.offset() + 2 * j + 1};
  const std::int64_t part_half = dims.pairs() / parts;
  const std::int64_t first = dims.offset() + 2 * part_half * (j / part_half) + j % part_half;
  return {first, first + part_half};
}

// Token-major [tokens, heads, head_dim] rotated in long double, every angle
// computed directly as position * ω; positions[axis][token].
inline std::vector<long double> oracle_pairs(const std::vector<long double>& input,
                                             std::int64_t tokens, std::int64_t heads,
                                             std::int64_t head_dim,
                                             const std::vector<ChannelPair>& pairs,
                                             const std::vector<std::vector<std::int64_t>>& positions,
                                             long double attention_factor = 1.0L) {
  std::vector<long double> out = input;
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t h = 0; h < heads; ++h) {
      long double* x = out.data() + (t * heads + h) * head_dim;
      for (const ChannelPair& p : pairs) {
        const long double angle =
            static_cast<long double>(positions[static_cast<std::size_t>(p.axis)]
                                              [static_cast<std::size_t>(t)]) *
            p.inv_freq;
        const long double c = std::cos(angle) * attention_factor;
        const long double s = std::sin(angle) * attention_factor;
        const long double a = x[p.first], b = x[p.second];
        x[p.first] = a * c - b * s;
        x[p.second] = b * c + a * s;
      }
    }
  return out;
}

// Calls f(T{}) for every storage type.
template <class F>
void for_each_storage(F&& f) {
  f(float{});
  f(double{});
  f(Eigen::half{});
  f(Eigen::bfloat16{});
}

// The paths this binary can run other than scalar.
inline std::vector<ropekit::Isa> simd_isas() {
  std::vector<ropekit::Isa> paths;
  for (ropekit::Isa isa : ropekit::available_isas())
    if (isa != ropekit::Isa::scalar) paths.push_back(isa);
  return paths;
}

// `rotate(buffer)` on every SIMD path against the scalar path, for a
// token-major buffer of [tokens, heads, head_dim] starting `start` elements
// in: each rotated element within simd_test.cpp's bound (4 float roundings
// of the pair's magnitude times m, one more rounding of T for 16-bit
// storage, two subnormal spacings), every other element byte for byte the
// input. double storage takes the scalar path on every path: equal bits.
template <class T>
void expect_paths_agree(const std::function<void(std::vector<T>&)>& rotate,
                        const std::vector<T>& input, std::int64_t start, std::int64_t tokens,
                        std::int64_t heads, std::int64_t head_dim,
                        const std::vector<ChannelPair>& pairs, double attention_factor,
                        const std::string& what) {
  std::vector<T> reference = input;
  {
    ScopedIsa scoped(ropekit::Isa::scalar);
    rotate(reference);
  }
  for (ropekit::Isa isa : simd_isas()) {
    SCOPED_TRACE(what + " on " + ropekit::isa_name(isa) + " " + ropekit::storage_name<T>());
    std::vector<T> simd = input;
    {
      ScopedIsa scoped(isa);
      rotate(simd);
    }
    if constexpr (std::is_same_v<T, double>) {
      ASSERT_TRUE(bytes_equal(simd, reference));
      continue;
    }
    std::vector<bool> rotated(input.size(), false);
    for (std::int64_t t = 0; t < tokens; ++t)
      for (std::int64_t h = 0; h < heads; ++h)
        for (const ChannelPair& p : pairs) {
          const std::int64_t base = start + (t * heads + h) * head_dim;
          const auto i0 = static_cast<std::size_t>(base + p.first);
          const auto i1 = static_cast<std::size_t>(base + p.second);
          rotated[i0] = rotated[i1] = true;
          const double magnitude =
              std::fabs(to_double(input[i0])) + std::fabs(to_double(input[i1]));
          const double m = attention_factor;
          const double bound =
              4 * 0x1p-24 * m * magnitude +
              (std::is_same_v<T, float> ? 0.0 : 2 * unit_roundoff<T>() * m * magnitude) +
              2 * subnormal_spacing<T>();
          ASSERT_NEAR(to_double(simd[i0]), to_double(reference[i0]), bound)
              << "t=" << t << " h=" << h << " channel " << p.first;
          ASSERT_NEAR(to_double(simd[i1]), to_double(reference[i1]), bound)
              << "t=" << t << " h=" << h << " channel " << p.second;
        }
    for (std::size_t i = 0; i < input.size(); ++i)
      if (!rotated[i]) {
        ASSERT_EQ(std::memcmp(&simd[i], &input[i], sizeof(T)), 0) << "element " << i;
        ASSERT_EQ(std::memcmp(&reference[i], &input[i], sizeof(T)), 0) << "element " << i;
      }
  }
}

// Every element of a rotated buffer within `tolerance` (relative to the
// pair magnitudes, see rotation_tolerance) of the long-double oracle.
template <class T>
void expect_matches_oracle(const std::vector<T>& rotated, const std::vector<long double>& oracle,
                           double tolerance, const std::string& what) {
  ASSERT_EQ(rotated.size(), oracle.size());
  for (std::size_t i = 0; i < rotated.size(); ++i)
    ASSERT_NEAR(to_double(rotated[i]), static_cast<double>(oracle[i]), tolerance)
        << what << " element " << i;
}

// `rotate(copy of input)` on every path this binary can run, each within
// `tolerance` of the oracle.
template <class T>
void expect_every_path_matches_oracle(const std::function<void(std::vector<T>&)>& rotate,
                                      const std::vector<T>& input,
                                      const std::vector<long double>& oracle, double tolerance) {
  for (ropekit::Isa isa : ropekit::available_isas()) {
    ScopedIsa scoped(isa);
    std::vector<T> out = input;
    rotate(out);
    expect_matches_oracle(out, oracle, tolerance, ropekit::isa_name(isa));
  }
}

}  // namespace ropekit_test

#endif  // ROPEKIT_TESTS_GEOMETRY_UTIL_HPP
