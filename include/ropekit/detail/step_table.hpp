// SPDX-License-Identifier: Apache-2.0
// Decode steps' tables built in the call for policies with a geometric form
// (DynamicNtk::geometric_step: ω_j(ℓ) = ω_j(L) · x^(-j/k)), kept per thread
// (Rope::Source::bind_step). Past the trained length every decode step is a
// new state; a decode loop asks for them in order, so a miss on the state
// after the last one built builds the next kStepBatch at once: their
// dependency chains overlap, and their roots x^(-1/k) come from one pow.
#ifndef ROPEKIT_DETAIL_STEP_TABLE_HPP
#define ROPEKIT_DETAIL_STEP_TABLE_HPP

#include <cmath>
#include <cstdint>

#include "../dims.hpp"
#include "../version.hpp"
#include "job.hpp"

#include "macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// The quarter turns of up to kPairBlock pairs for the states [first, first +
// count) of the Rope `owner`, state b at b * kStride.
struct StepTable {
  static constexpr std::int64_t kStride = kPairBlock + 16;
  std::uint64_t owner = 0;
  std::int64_t first = 0;
  int count = 0;
  double attention_factor = 1.0;
  // Plain arrays (17 KB with kStepBatch 4): a member with a constructor
  // would make the thread_local's initialisation code that every unit emits
  // with its own ISA flags (tests/odr).
  alignas(64) double quarters_head[kStepBatch * kStride] = {};
  alignas(64) double quarters_tail[kStepBatch * kStride] = {};
  std::uint8_t axis[kPairBlock + 16] = {};

  bool holds(std::uint64_t rope, std::int64_t state) const noexcept {
    return owner == rope && state >= first && state - first < count;
  }
};

inline StepTable& step_table_slot() {
  thread_local StepTable slot;
  return slot;
}

// y^k by squaring (k >= 1).
inline double integer_power(double y, std::int64_t k) noexcept {
  double result = 1.0;
  for (; k > 0; k >>= 1, y *= y)
    if (k & 1) result *= y;
  return result;
}

// The roots of states [first, first + count): x as a double-double and y =
// x^(-1/k) in double, by Newton's method from the root of the state's anchor
// (the multiple of kStepBatch at or below it, one pow per anchor) and a
// first-order step. A
// state's root depends on nothing else, so neither does its table. Newton
// for x·y^k = 1 from above (the anchor's x is at most the state's) falls
// monotonically and quadratically: a step from e = 1 - x·y^k leaves y within
// about e²/k of the root, so once |e| <= 2^-26 y is within rounding (the
// kernels' own Newton step then takes the table to double-double).
template <class Policy>
void step_roots(const Policy& policy, const RotaryDims& dims, std::int64_t first, int count,
                StepRoot* roots) {
  std::int64_t anchor = -1;
  double anchor_x = 1.0, anchor_root = 1.0;
  for (int b = 0; b < count; ++b) {
    const std::int64_t state = first + b;
    const auto step = policy.geometric_step(dims, state);
    const auto hi = static_cast<double>(step.x);
    roots[b].x = dd{hi, static_cast<double>(step.x - static_cast<long double>(hi))};
    const std::int64_t k = step.root;
    if (state - state % kStepBatch != anchor) {
      anchor = state - state % kStepBatch;
      anchor_x = static_cast<double>(policy.geometric_step(dims, anchor).x);
      anchor_root = std::pow(anchor_x, -1.0 / static_cast<double>(k));
    }
    // First order from the anchor's root: (x / x_anchor)^(-1/k) ~ 1 - t/k.
    const double t = (hi - anchor_x) / anchor_x;
    double y = anchor_root * (1.0 - t / static_cast<double>(k));
    for (int i = 0; i < 64; ++i) {
      const double p = hi * integer_power(y, k);
      const double e = 1.0 - p;
      y += y * (e / (static_cast<double>(k) * p));
      if (std::fabs(e) <= 0x1p-26) break;
    }
    roots[b].y = y;
  }
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_STEP_TABLE_HPP
