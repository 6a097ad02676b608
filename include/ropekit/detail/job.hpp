// SPDX-License-Identifier: Apache-2.0
// What every kernel path is handed for one call: the angles (an exact table,
// or precomputed cos/sin rows), the scale the direction applies, the views
// and the positions, all validated before a job exists. The scalar
// reference and the SIMD kernels share this vocabulary and nothing else.
#ifndef ROPEKIT_DETAIL_JOB_HPP
#define ROPEKIT_DETAIL_JOB_HPP

#include <cstddef>
#include <cstdint>

#include "../frequencies.hpp"
#include "../positions.hpp"
#include "../version.hpp"
#include "../view.hpp"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

enum class Direction { forward, inverse };

// Scale applied to cos and to sin: forward multiplies both by the attention
// factor; inverse divides by it and negates sin, so inverse(forward(x)) == x.
struct RotationScale {
  double cos_scale;
  double sin_scale;
};

inline RotationScale rotation_scale(double attention_factor, Direction direction) {
  const double m = attention_factor;
  return direction == Direction::forward ? RotationScale{m, m} : RotationScale{1.0 / m, -1.0 / m};
}

// Pairs handled per block: bounds the stack buffers for any rotary_dim and
// keeps a block's cos/sin in L1 while every head of the token is rotated.
inline constexpr std::int64_t kPairBlock = 256;

// A FrequencyTable's arrays as the kernels read them (non-owning). Arrays
// are padded with zeros to a multiple of 16 pairs, so whole vectors past
// the last pair read harmless angles.
struct AngleTable {
  // Quarter turns per position mod 4 as a double-double, for the SIMD paths
  // (fma(p, head, -p*head) recovers the product's rounding error exactly).
  const double* quarters_head;
  const double* quarters_tail;
  // Turns per position in three parts whose products with a position are
  // exact for the first two, for the scalar reference.
  const double* turns_hi;
  const double* turns_mid;
  const double* turns_lo;
  // The position axis each pair reads (all 0 unless multimodal).
  const std::uint8_t* axis;
  int axes;
  double attention_factor;
};

// Precomputed cos/sin, one padded row per position (CosSinCache).
struct CosSinRows {
  const float* cos;
  const float* sin;
  std::int64_t stride;
};

// One validated call: `N` views rotated with the same angles per token.
// Exactly one of `table` and `rows` is used: rows when rows.cos is set.
template <class T, std::size_t N>
struct Job {
  AngleTable table;
  CosSinRows rows;
  RotationScale scale;
  std::int64_t pairs;
  const HeadView<T> (*views)[N];
  Positions positions;
};

// The kernels' view of a FrequencyTable (whose arrays are not public API).
struct TableAccess {
  static AngleTable angles(const FrequencyTable& table) noexcept {
    const FrequencyTable::Data& d = *table.data_;
    return {d.quarters_head.data(), d.quarters_tail.data(), d.turns_hi.data(), d.turns_mid.data(),
            d.turns_lo.data(),      d.axis.data(),          d.axes,            d.attention_factor};
  }
};

// A token's position on each axis; a single-axis id list feeds every axis
// (text tokens of an M-RoPE model).
inline void token_positions(const Positions& positions, std::int64_t token,
                            double (&out)[Positions::kMaxAxes]) {
  const int axes = positions.axes();
  for (int a = 0; a < Positions::kMaxAxes; ++a)
    out[a] = static_cast<double>(positions.at(token, a < axes ? a : 0));
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_DETAIL_JOB_HPP
