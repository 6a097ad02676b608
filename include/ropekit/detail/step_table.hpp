// SPDX-License-Identifier: Apache-2.0
// Decode steps' tables built in the call for policies with a geometric form
// (DynamicNtk::geometric_step: ω_j(ℓ) = ω_j(L) · x^(-j/k)), kept per thread
// (Rope::Source::bind_step). Past the trained length every decode step is a
// new state; a decode loop asks for them in order, so a miss on the state
// after the last one built builds the next kStepBatch at once: their
// dependency chains overlap, and their roots x^(-1/k) share a pow per anchor
// (step_roots).
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
// x^(-1/k) in double. A decode loop's states lie close to the root of their
// anchor (the multiple of kStepBatch at or below the state, one pow per
// anchor): from it, a first-order step and Newton's method for x·y^k = 1.
// With t = x / x_anchor - 1 <= 2^-6 the first-order guess is positive and
// within t² of the root (e = 1 - x·y^k <= 2^-12), each Newton step squares
// e, and once |e| <= 2^-26 the step just taken left y within rounding (the
// kernels' own Newton step then takes the table to double-double): three
// steps at most. States farther from their anchor (tiny trained lengths,
// huge factors) take a pow of their own. Either way a state's root, and so
// its table, depends on the state alone.
// Returns k (the same for every state).
template <class Policy>
std::int64_t step_roots(const Policy& policy, const RotaryDims& dims, std::int64_t first,
                        int count, StepRoot* roots) {
  std::int64_t root = 0;
  std::int64_t anchor = -1;
  double anchor_x = 1.0, anchor_root = 1.0;
  for (int b = 0; b < count; ++b) {
    const std::int64_t state = first + b;
    const auto step = policy.geometric_step(dims, state);
    const auto hi = static_cast<double>(step.x);
    roots[b].x = dd{hi, static_cast<double>(step.x - static_cast<long double>(hi))};
    root = step.root;  // (rotary_dim - 2) / 2 for every state
    const auto k = static_cast<double>(step.root);
    if (state - state % kStepBatch != anchor) {
      anchor = state - state % kStepBatch;
      anchor_x = static_cast<double>(policy.geometric_step(dims, anchor).x);
      anchor_root = std::pow(anchor_x, -1.0 / k);
    }
    const double t = (hi - anchor_x) / anchor_x;
    if (!(t <= 0x1p-6)) {
      roots[b].y = std::pow(hi, -1.0 / k);
      continue;
    }
    double y = anchor_root * (1.0 - t / k);
    for (int i = 0; i < 3; ++i) {
      const double p = hi * integer_power(y, step.root);
      const double e = 1.0 - p;
      y += y * (e / (k * p));
      if (std::fabs(e) <= 0x1p-26) break;
    }
    roots[b].y = y;
  }
  return root;
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_STEP_TABLE_HPP
