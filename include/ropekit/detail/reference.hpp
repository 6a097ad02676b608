// SPDX-License-Identifier: Apache-2.0
// The scalar kernel. It is the test oracle for every SIMD path and the
// fallback on targets without one, so it favours accuracy over speed: cos/sin
// come from libm on an exactly reduced angle (rounded to float for float,
// half and bfloat16 storage, as every path uses them), the rotation runs in
// double, and the result is rounded once to the storage type.
#ifndef ROPEKIT_DETAIL_REFERENCE_HPP
#define ROPEKIT_DETAIL_REFERENCE_HPP

#include <cmath>
#include <cstdint>

#include "../dims.hpp"
#include "../frequencies.hpp"
#include "../layout.hpp"
#include "../positions.hpp"
#include "../storage.hpp"
#include "../version.hpp"
#include "../view.hpp"
#include "isa_config.hpp"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

enum class Direction { forward, inverse };

// Scale applied to cos and to sin: forward multiplies both by the attention
// factor; inverse divides by it and negates sin, so inverse(forward(x)) == x.
struct RotationScale {
  double cos_scale;
  double sin_scale;
};

inline RotationScale rotation_scale(const FrequencyTable& table, Direction direction) {
  const double m = table.attention_factor();
  return direction == Direction::forward ? RotationScale{m, m}
                                         : RotationScale{1.0 / m, -1.0 / m};
}

// Pairs handled per block: bounds the stack buffers for any rotary_dim and
// keeps a block's cos/sin in L1 while every head of the token is rotated.
inline constexpr std::int64_t kPairBlock = 256;

// A token's position on each axis; a single-axis id list feeds every axis
// (text tokens of an M-RoPE model).
inline void token_positions(const Positions& positions, std::int64_t token,
                            double (&out)[Positions::kMaxAxes]) {
  const int axes = positions.axes();
  for (int a = 0; a < Positions::kMaxAxes; ++a)
    out[a] = static_cast<double>(positions.at(token, a < axes ? a : 0));
}

namespace ROPEKIT_TU_NAMESPACE {
namespace scalar {

// Fractional turn of `position * turns` in [-0.5, 0.5], where turns = hi +
// mid + lo. position * hi and position * mid are exact (21-bit parts times a
// 31-bit position), so their fractions are exact; only the tiny lo product
// and the final sums round.
inline double fractional_turn(double position, double hi, double mid, double lo) {
  double a = position * hi;
  a -= std::nearbyint(a);
  double b = position * mid;
  b -= std::nearbyint(b);
  const double t = a + b + position * lo;
  return t - std::nearbyint(t);
}

// cos/sin of pairs [j0, j0 + n), computed in double and stored as C (float
// for float/half/bfloat16 storage, double for double).
template <class C>
inline void cos_sin(const FrequencyTable& table, const double (&position_by_axis)[Positions::kMaxAxes],
                    std::int64_t j0, std::int64_t n, RotationScale scale, C* cos_out,
                    C* sin_out) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  const std::uint8_t* axis = table.position_axis();
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t j = j0 + i;
    const double angle =
        kTwoPi * fractional_turn(position_by_axis[axis[j]], table.turns_hi()[j],
                                 table.turns_mid()[j], table.turns_lo()[j]);
    cos_out[i] = static_cast<C>(std::cos(angle) * scale.cos_scale);
    sin_out[i] = static_cast<C>(std::sin(angle) * scale.sin_scale);
  }
}

// Rotates pairs [j0, j0 + n) of one head with cos/sin c, s.
template <Layout L, class T, class C>
inline void rotate_head(T* x, std::int64_t half, std::int64_t j0, std::int64_t n, const C* c,
                        const C* s) {
  using offsets = pair_offsets<L>;
  for (std::int64_t i = 0; i < n; ++i) {
    T& first = x[offsets::first(j0 + i, half)];
    T& second = x[offsets::second(j0 + i, half)];
    const double a = static_cast<double>(widen(first));
    const double b = static_cast<double>(widen(second));
    const double ci = static_cast<double>(c[i]);
    const double si = static_cast<double>(s[i]);
    first = narrow<T>(a * ci - b * si);
    second = narrow<T>(b * ci + a * si);
  }
}

template <Layout L, class T, std::size_t N, class C>
inline void rotate_token(const HeadView<T> (&views)[N], std::int64_t token, std::int64_t half,
                         std::int64_t j0, std::int64_t n, const C* c, const C* s) {
  for (const HeadView<T>& view : views)
    for (std::int64_t h = 0; h < view.heads(); ++h)
      rotate_head<L>(view.head(token, h), half, j0, n, c, s);
}

// Rotates tokens [token_begin, token_end) of every view (q and k of one call
// share each token's cos/sin). Views and positions are already validated.
template <Layout L, class T, std::size_t N>
ROPEKIT_NOINLINE void apply(const FrequencyTable& table, const RotaryDims& dims,
                  const HeadView<T> (&views)[N], const Positions& positions,
                  std::int64_t token_begin, std::int64_t token_end, Direction direction) {
  using C = widened_t<T>;
  const RotationScale scale = rotation_scale(table, direction);
  const std::int64_t half = dims.pairs();
  C c[kPairBlock];
  C s[kPairBlock];
  for (std::int64_t t = token_begin; t < token_end; ++t) {
    double position_by_axis[Positions::kMaxAxes];
    token_positions(positions, t, position_by_axis);
    for (std::int64_t j0 = 0; j0 < half; j0 += kPairBlock) {
      const std::int64_t n = half - j0 < kPairBlock ? half - j0 : kPairBlock;
      cos_sin(table, position_by_axis, j0, n, scale, c, s);
      rotate_token<L>(views, t, half, j0, n, c, s);
    }
  }
}

// The same with cos/sin read from a precomputed table (CosSinCache):
// rows.cos_row(p) and rows.sin_row(p) point to the `half` cos and sin
// values of position p.
template <Layout L, class T, std::size_t N, class Rows>
ROPEKIT_NOINLINE void apply_rows(const Rows& rows, const RotaryDims& dims, const HeadView<T> (&views)[N],
                       const Positions& positions, std::int64_t token_begin,
                       std::int64_t token_end) {
  const std::int64_t half = dims.pairs();
  for (std::int64_t t = token_begin; t < token_end; ++t) {
    const std::int64_t p = positions.at(t, 0);
    rotate_token<L>(views, t, half, 0, half, rows.cos_row(p), rows.sin_row(p));
  }
}

}  // namespace scalar
}  // namespace ROPEKIT_TU_NAMESPACE
}  // namespace detail
ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_DETAIL_REFERENCE_HPP
