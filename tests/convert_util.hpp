// SPDX-License-Identifier: Apache-2.0
// Helpers of the conversion tests (rotate_into, convert, KV-cache append):
// the storage types a conversion reads and writes, element values as the
// definitions give them (independent of the kernels), canary-filled strided
// buffers, and the SIMD-against-scalar bound of one rotated, converted
// element.
#ifndef ROPEKIT_TESTS_CONVERT_UTIL_HPP
#define ROPEKIT_TESTS_CONVERT_UTIL_HPP

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "test_util.hpp"

namespace ropekit_test {

/// Calls f(T{}) for every type a conversion reads or writes (not double).
template <class F>
void for_each_conversion_type(F&& f) {
  f(float{});
  f(Eigen::half{});
  f(Eigen::bfloat16{});
  f(ropekit::float8_e4m3fn{});
  f(ropekit::float8_e5m2{});
}

/// Element value by the definitions: widened, FP8 codes times the scale.
template <class T>
float value_of(T x, float scale) {
  if constexpr (ropekit::is_fp8_v<T>)
    return ropekit::dequantize_fp8(x, scale);
  else
    return static_cast<float>(x);
}

/// Stored element by the definitions: FP8 is fp8(x / scale), else T(x).
template <class T>
T stored_as(float x, float scale) {
  if constexpr (ropekit::is_fp8_v<T>)
    return ropekit::quantize_fp8<T>(x, scale);
  else
    return T(x);
}

/// Unit roundoff and smallest positive (subnormal) value of a type.
template <class T>
double roundoff_of() {
  if constexpr (std::is_same_v<T, ropekit::float8_e4m3fn>)
    return 0x1p-4;
  else if constexpr (std::is_same_v<T, ropekit::float8_e5m2>)
    return 0x1p-3;
  else
    return unit_roundoff<T>();
}
template <class T>
double smallest_of() {
  if constexpr (std::is_same_v<T, ropekit::float8_e4m3fn>)
    return 0x1p-9;
  else if constexpr (std::is_same_v<T, ropekit::float8_e5m2>)
    return 0x1p-16;
  else
    return subnormal_spacing<T>();
}

/// |simd - scalar| allowed for a rotated element whose pair has widened
/// magnitude `magnitude` (|a| + |b|), attention factor m, stored in D with
/// dequantisation scale `scale`: simd_test.cpp's float bound (cos/sin one
/// float ulp apart, the SIMD product and fused add rounding twice), plus
/// one rounding to D of either result when D is narrower, plus D's
/// subnormal spacing (times the scale) for results below D's normals.
template <class D>
double conversion_bound(double magnitude, double m, float scale) {
  double bound = 4 * 0x1p-24 * m * magnitude + 2 * smallest_of<D>() * scale;
  if constexpr (!std::is_same_v<D, float>) bound += 2 * roundoff_of<D>() * m * magnitude;
  return bound;
}

// Placement (test_util.hpp): where a tensor of [tokens, heads, head_dim]
// sits in its buffer.
inline const char* placement_name(Placement p) {
  switch (p) {
    case Placement::unaligned:
      return "unaligned";
    case Placement::padded_strides:
      return "padded";
    case Placement::head_major:
      return "head_major";
    default:
      return "contiguous";
  }
}

struct Grid {
  std::int64_t tokens, heads, head_dim, token_stride, head_stride, offset, size;

  static Grid make(Placement p, std::int64_t tokens, std::int64_t heads, std::int64_t head_dim) {
    switch (p) {
      case Placement::unaligned:  // one element in: vector loads and stores misaligned
        return {
            tokens, heads, head_dim, heads * head_dim, head_dim, 1, tokens * heads * head_dim + 2};
      case Placement::padded_strides:
        return {tokens,
                heads,
                head_dim,
                heads * (head_dim + 5) + 3,
                head_dim + 5,
                2,
                tokens * (heads * (head_dim + 5) + 3) + 4};
      case Placement::head_major:
        return {tokens, heads, head_dim, head_dim, tokens * head_dim, 0, tokens * heads * head_dim};
      default:
        return {tokens, heads, head_dim, heads * head_dim, head_dim, 0, tokens * heads * head_dim};
    }
  }
  std::int64_t at(std::int64_t t, std::int64_t h, std::int64_t c) const {
    return offset + t * token_stride + h * head_stride + c;
  }
  template <class T>
  ropekit::HeadView<T> view(std::vector<std::remove_const_t<T>>& buffer) const {
    return ropekit::HeadView<T>(buffer.data() + offset, tokens, heads, head_dim, token_stride,
                                head_stride);
  }
  /// A read-only view of a const buffer (T const-qualified).
  template <class T, std::enable_if_t<std::is_const_v<T>, int> = 0>
  ropekit::HeadView<T> view(const std::vector<std::remove_const_t<T>>& buffer) const {
    return ropekit::HeadView<T>(buffer.data() + offset, tokens, heads, head_dim, token_stride,
                                head_stride);
  }
};

/// A buffer for `grid`, canaries everywhere, heads holding values in
/// [-2, 2) stored with the head's scale (scales[h]).
template <class T>
std::vector<T> filled(const Grid& grid, unsigned seed, const std::vector<float>& scales) {
  std::vector<T> buffer(static_cast<std::size_t>(grid.size), T(-7.0f));
  const auto values = random_values<float>(
      static_cast<std::size_t>(grid.tokens * grid.heads * grid.head_dim), seed);
  std::size_t i = 0;
  for (std::int64_t t = 0; t < grid.tokens; ++t)
    for (std::int64_t h = 0; h < grid.heads; ++h)
      for (std::int64_t c = 0; c < grid.head_dim; ++c)
        buffer[static_cast<std::size_t>(grid.at(t, h, c))] =
            stored_as<T>(values[i++], scales[static_cast<std::size_t>(h)]);
  return buffer;
}

/// Canaries only (what a destination holds before a call).
template <class T>
std::vector<T> canaries(const Grid& grid) {
  return std::vector<T>(static_cast<std::size_t>(grid.size), T(-7.0f));
}

/// Bit equality of two elements, NaN equal to NaN (payloads may differ
/// between libm-free paths only in their quiet bit conventions).
template <class T>
bool same_element(T a, T b) {
  if (std::memcmp(&a, &b, sizeof(T)) == 0) return true;
  const float fa = value_of(a, 1.0f), fb = value_of(b, 1.0f);
  return std::isnan(fa) && std::isnan(fb);
}

/// Applies an FP8 view's scales: one per tensor or one per head.
template <class T>
ropekit::HeadView<T> scaled(ropekit::HeadView<T> view, const std::vector<float>& scales,
                            bool per_head) {
  if constexpr (ropekit::is_fp8_v<std::remove_const_t<T>>) {
    return per_head ? view.with_head_scales(scales.data()) : view.with_scale(scales[0]);
  } else {
    (void)scales;
    (void)per_head;
    return view;
  }
}

// On every kernel path, f(rope) for ropes whose rotated channels are not a
// leading [0, rotary_dim): slices at an offset (DeepSeek-V4's last channels,
// adjacent pairs; one inside the head) and a proportional table, which
// rotates only its pairs with a frequency.
template <class F>
void for_each_path_and_slice_rope(F&& f) {
  using namespace ropekit;
  for (Isa isa : available_isas()) {
    SCOPED_TRACE(isa_name(isa));
    ScopedIsa scoped(isa);
    f(Rope<scaling::Yarn, gptj>(RotaryDims(96, 32, 56), scaling::Yarn(16.0, 65536, 10000.0)));
    f(Rope<scaling::Default>(RotaryDims(72, 40, 30), scaling::Default(10000.0)));
    f(Rope<scaling::Proportional>(RotaryDims(128), scaling::Proportional(0.25, 1e6)));
  }
}

}  // namespace ropekit_test

#endif  // ROPEKIT_TESTS_CONVERT_UTIL_HPP
