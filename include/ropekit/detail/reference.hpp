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
#include <tuple>
#include <type_traits>

#include "../dims.hpp"
#include "../frequencies.hpp"
#include "../layout.hpp"
#include "../positions.hpp"
#include "../storage.hpp"
#include "../version.hpp"
#include "../view.hpp"
#include "job.hpp"

#include "macros_begin.inl"

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

// One head's channels as the reference reads and writes them: widened (FP8
// codes times their scale, in float as stored values are defined), RMS-
// normalised with a factor from a double sum (in float; in double for double
// storage), and stored rounded once (FP8: divided by its scale in float
// first). C is double for double storage, float otherwise.
template <class C, class S, class D>
struct ScalarHead {
  const S* src;
  D* dst;
  float src_scale, dst_scale;
  const NormSpec* norm;  // nullptr: no normalisation
  C r;

  C load(std::int64_t c) const {
    if constexpr (std::is_same_v<C, double>) {
      double v = static_cast<double>(src[c]);
      if (norm != nullptr)
        v = (v * r) * (static_cast<double>(norm->weight[c]) + (norm->plus_one ? 1.0 : 0.0));
      return v;
    } else {
      float v = static_cast<float>(src[c]);
      if constexpr (is_fp8_v<S>) v *= src_scale;
      if (norm != nullptr) v = (v * r) * (norm->weight[c] + (norm->plus_one ? 1.0f : 0.0f));
      return v;
    }
  }
  void store(std::int64_t c, double value) const {
    if constexpr (is_fp8_v<D>) dst[c] = D(static_cast<float>(value) / dst_scale);
    else dst[c] = narrow<D>(value);
  }
};

template <class C, class S, class D>
inline C reference_rms_factor(const ScalarHead<C, S, D>& head, std::int64_t head_dim, float eps) {
  ScalarHead<C, S, D> raw = head;
  raw.norm = nullptr;
  double sum = 0.0;
  for (std::int64_t c = 0; c < head_dim; ++c) {
    const double x = static_cast<double>(raw.load(c));
    sum += x * x;
  }
  return static_cast<C>(1.0 / std::sqrt(sum / static_cast<double>(head_dim) + eps));
}

// The channels of pair j: interleaved (offset + 2j, offset + 2j + 1);
// half-split, in part p = j / (pairs / parts) of 2 * half channels,
// (offset + 2 * half * p + i, ... + half), i = j mod (pairs / parts).
template <Layout L>
inline void reference_pair(const Geometry& g, std::int64_t j, std::int64_t& first,
                           std::int64_t& second) {
  if (L == Layout::interleaved) {
    first = g.offset + 2 * j;
    second = first + 1;
    return;
  }
  const std::int64_t part_pairs = g.pairs / g.parts;
  first = g.offset + 2 * g.half * (j / part_pairs) + j % part_pairs;
  second = first + g.half;
}

// Whether channel ch of a head rotates (is in some pair).
template <Layout L>
inline bool reference_rotates(const Geometry& g, std::int64_t ch) {
  const std::int64_t rel = ch - g.offset;
  if (L == Layout::interleaved) return rel >= 0 && rel < 2 * g.pairs;
  if (rel < 0 || rel >= 2 * g.half * g.parts) return false;
  return rel % (2 * g.half) % g.half < g.pairs / g.parts;
}

// Head h of token t of a stream, as the reference reads and writes it.
template <class C, class Stream>
inline auto reference_head(const Stream& st, std::int64_t t, std::int64_t h) {
  using S = typename Stream::source_value;
  using D = typename Stream::destination_value;
  ScalarHead<C, S, D> head{st.src.head(t, h), nullptr, st.src.scale(h), 1.0f, nullptr, C(1)};
  if constexpr (Stream::in_place) {
    head.dst = const_cast<D*>(head.src);
    head.dst_scale = head.src_scale;
  } else {
    head.dst = st.dst.head(t, h);
    head.dst_scale = st.dst.scale(h);
  }
  return head;
}

// Heads whose norm factors the reference keeps across a token's blocks.
inline constexpr std::int64_t kReferenceHeadChunk = 64;

// One stream, token t, pairs [j0, j0 + n) with cos/sin c, s; the channels
// that do not rotate too (once, with the first block) where it writes them.
// A normalising stream does heads [h0, h0 + kReferenceHeadChunk) with the
// norm factors `factors`, taken with the first block before any write (in
// place, later blocks read channels already written); others do every head
// when h0 is 0.
template <Layout L, class C, class Stream>
inline void reference_stream(const Geometry& g, const Stream& st, std::int64_t t, std::int64_t j0,
                             std::int64_t n, const C* c, const C* s, std::int64_t h0,
                             C* factors) {
  std::int64_t h1 = h0 == 0 ? st.src.heads() : 0;
  if constexpr (Stream::normalises) {
    h1 = h0 + kReferenceHeadChunk < st.src.heads() ? h0 + kReferenceHeadChunk : st.src.heads();
    if (j0 == 0)
      for (std::int64_t h = h0; h < h1; ++h)
        factors[h - h0] = reference_rms_factor(reference_head<C>(st, t, h), g.head_dim, st.norm.eps);
  }
  for (std::int64_t h = h0; h < h1; ++h) {
    auto head = reference_head<C>(st, t, h);
    if constexpr (Stream::normalises) {
      head.r = factors[h - h0];
      head.norm = &st.norm;
    }
    if (!Stream::rotates) {
      if (j0 == 0)
        for (std::int64_t ch = 0; ch < g.head_dim; ++ch) head.store(ch, head.load(ch));
      continue;
    }
    if ((!Stream::in_place || Stream::normalises) && j0 == 0)
      for (std::int64_t ch = 0; ch < g.head_dim; ++ch)
        if (!reference_rotates<L>(g, ch)) head.store(ch, head.load(ch));
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t first = 0, second = 0;
      reference_pair<L>(g, j0 + i, first, second);
      const double a = static_cast<double>(head.load(first));
      const double b = static_cast<double>(head.load(second));
      const double ci = static_cast<double>(c[i]);
      const double si = static_cast<double>(s[i]);
      head.store(first, a * ci - b * si);
      head.store(second, b * ci + a * si);
    }
  }
}

struct kernel {
  // Rotates tokens [begin, end) of a validated job: per token, cos/sin of
  // every pair (from the job's rows, or from libm on the exactly reduced
  // angle), then every stream.
  template <Layout L, class... Streams>
  ROPEKIT_NOINLINE static void run(const Job<Streams...>& job, std::int64_t begin,
                                   std::int64_t end) {
    using First = std::tuple_element_t<0, std::tuple<Streams...>>;
    using C = widened_t<typename First::source_value>;
    const Geometry& g = job.geometry;
    C c_block[kPairBlock];
    C s_block[kPairBlock];
    std::int64_t norm_heads = 0;  // a normalising stream's most heads
    std::apply(
        [&](const auto&... st) {
          ((norm_heads = st.normalises && st.src.heads() > norm_heads ? st.src.heads() : norm_heads),
           ...);
        },
        job.streams);
    C factors[sizeof...(Streams)][kReferenceHeadChunk];
    for (std::int64_t t = begin; t < end; ++t) {
      double position_by_axis[Positions::kMaxAxes];
      token_positions(job.positions, t, position_by_axis);
      const std::int64_t blocks = g.pairs == 0 ? 1 : (g.pairs + kPairBlock - 1) / kPairBlock;
      for (std::int64_t h0 = 0; h0 == 0 || h0 < norm_heads; h0 += kReferenceHeadChunk)
      for (std::int64_t block = 0; block < blocks; ++block) {
        const std::int64_t j0 = block * kPairBlock;
        const std::int64_t n = g.pairs - j0 < kPairBlock ? g.pairs - j0 : kPairBlock;
        const C* c = c_block;
        const C* s = s_block;
        if constexpr (std::is_same_v<C, float>) {
          if (job.rows.cos != nullptr) {
            const std::int64_t row =
                static_cast<std::int64_t>(position_by_axis[0]) * job.rows.stride + j0;
            c = job.rows.cos + row;
            s = job.rows.sin + row;
          }
        }
        if (c == c_block) cos_sin(job.table, position_by_axis, j0, n, job.scale, c_block, s_block);
        std::apply(
            [&](const auto&... stream) {
              std::size_t i = 0;
              ((reference_stream<L>(g, stream, t, j0, n, c, s, h0, factors[i]), ++i), ...);
            },
            job.streams);
      }
    }
  }

  // Quarter turns of ω_j · x^(-j/k) from those of ω_j (see the SIMD
  // kernels' version), here straight from the definition in long double.
  // Rope only builds decode-step tables on SIMD paths; this keeps every path
  // able to.
  static void geometric_quarters(const double* q0_head, const double* q0_tail, std::int64_t pairs,
                                 const StepRoot* roots, int count, std::int64_t k, double* head,
                                 double* tail, std::int64_t stride) {
    for (int b = 0; b < count && b < kStepBatch; ++b) {
      const long double xl =
          static_cast<long double>(roots[b].x.hi) + static_cast<long double>(roots[b].x.lo);
      for (std::int64_t j = 0; j < pairs; ++j) {
        const long double q =
            (static_cast<long double>(q0_head[j]) + q0_tail[j]) *
            std::pow(xl, -static_cast<long double>(j) / static_cast<long double>(k));
        head[b * stride + j] = static_cast<double>(q);
        tail[b * stride + j] =
            static_cast<double>(q - static_cast<long double>(head[b * stride + j]));
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

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_REFERENCE_HPP
