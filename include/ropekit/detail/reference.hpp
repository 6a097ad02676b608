// SPDX-License-Identifier: Apache-2.0
// The scalar kernel. It is the test oracle for every SIMD path and the
// fallback on targets without one, so it favours accuracy over speed and
// shares nothing with the SIMD kernels but the job they are handed: cos/sin
// come from libm on an exactly reduced angle (rounded to float for float,
// half and bfloat16 storage, as every path uses them), the rotation runs in
// double, and the result is rounded once to the storage type.
#ifndef ROPEKIT_DETAIL_REFERENCE_HPP
#define ROPEKIT_DETAIL_REFERENCE_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../dims.hpp"
#include "../frequencies.hpp"
#include "../layout.hpp"
#include "../positions.hpp"
#include "../storage.hpp"
#include "../version.hpp"
#include "../view.hpp"
#include "isa_config.hpp"
#include "job.hpp"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {
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
inline void cos_sin(const AngleTable& table, const double (&position_by_axis)[Positions::kMaxAxes],
                    std::int64_t j0, std::int64_t n, RotationScale scale, C* cos_out,
                    C* sin_out) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t j = j0 + i;
    const double angle =
        kTwoPi * fractional_turn(position_by_axis[table.axis[j]], table.turns_hi[j],
                                 table.turns_mid[j], table.turns_lo[j]);
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

struct kernel {
  // Rotates tokens [begin, end) of a validated job: per token, cos/sin of
  // every pair (from the job's rows, or from libm on the exactly reduced
  // angle), then every head of every view.
  template <Layout L, class T, std::size_t N>
  ROPEKIT_NOINLINE static void run(const Job<T, N>& job, std::int64_t begin, std::int64_t end) {
    using C = widened_t<T>;
    const std::int64_t half = job.pairs;
    C c_block[kPairBlock];
    C s_block[kPairBlock];
    for (std::int64_t t = begin; t < end; ++t) {
      double position_by_axis[Positions::kMaxAxes];
      token_positions(job.positions, t, position_by_axis);
      for (std::int64_t j0 = 0; j0 < half; j0 += kPairBlock) {
        const std::int64_t n = half - j0 < kPairBlock ? half - j0 : kPairBlock;
        const C* c = c_block;
        const C* s = s_block;
        if constexpr (std::is_same_v<C, float>) {
          if (job.rows.cos != nullptr) {
            const std::int64_t row = job.positions.at(t, 0) * job.rows.stride + j0;
            c = job.rows.cos + row;
            s = job.rows.sin + row;
          }
        }
        if (c == c_block) cos_sin(job.table, position_by_axis, j0, n, job.scale, c_block, s_block);
        for (const HeadView<T>& view : *job.views)
          for (std::int64_t h = 0; h < view.heads(); ++h)
            rotate_head<L>(view.head(t, h), half, j0, n, c, s);
      }
    }
  }

  // cos/sin rows for positions [first, first + count), as run() forms them.
  static void fill_rows(const AngleTable& table, std::int64_t pairs, std::int64_t first,
                        std::int64_t count, std::int64_t row_stride, float* cos_rows,
                        float* sin_rows) {
    const RotationScale scale = rotation_scale(table.attention_factor, Direction::forward);
    for (std::int64_t p = first; p < first + count; ++p) {
      const double position_by_axis[Positions::kMaxAxes] = {
          static_cast<double>(p), static_cast<double>(p), static_cast<double>(p)};
      for (std::int64_t j0 = 0; j0 < pairs; j0 += kPairBlock) {
        const std::int64_t n = pairs - j0 < kPairBlock ? pairs - j0 : kPairBlock;
        cos_sin(table, position_by_axis, j0, n, scale, cos_rows + (p - first) * row_stride + j0,
                sin_rows + (p - first) * row_stride + j0);
      }
    }
  }
};

}  // namespace scalar
}  // namespace ROPEKIT_TU_NAMESPACE
}  // namespace detail
ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_DETAIL_REFERENCE_HPP
