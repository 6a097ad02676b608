// SPDX-License-Identifier: Apache-2.0
// Exact angles, written once over an `ops` struct and included (no include
// guard, on purpose) inside each ISA namespace after its `ops` and inside
// that ISA's target region, like kernel-inl.hpp.
//
// Per token: the angle of every pair reduced exactly in double to a quarter
// turn and a remainder in [-pi/4, pi/4], then sin/cos of the remainder in
// float (the remainder is exact to 2.3e-8 rad, the polynomials to float
// rounding). Positions may be negative (position deltas): the reduction and
// the quadrant arithmetic work mod 4 in two's complement.

// Angles of pairs [j, j + kF) at positions p_lo (first kD) and p_hi, as the
// quarter turn q (int lanes, mod 4 is what counts) and the remainder x in
// [-pi/4, pi/4] (float).
inline void reduce(const AngleTable& table, std::int64_t j, typename ops::vd p_lo,
                   typename ops::vd p_hi, typename ops::vi& quadrant, typename ops::vf& x) {
  using vd = typename ops::vd;
  vd q[2], r[2];
  const vd p[2] = {p_lo, p_hi};
  for (int half = 0; half < 2; ++half) {
    const std::int64_t at = j + half * ops::kD;
    const vd head = ops::load_d(table.quarters_head + at);
    // Quarter turns as a + e exactly (FMA recovers the rounding error e).
    // a < 2^33, so a - round(a) is exact and the remainder is right to
    // ~1e-16 of a quarter turn.
    const vd a = ops::mul_d(p[half], head);
    const vd e = ops::fms_d(p[half], head, a);
    q[half] = ops::round_d(a);
    const vd quarters = ops::add_d(ops::sub_d(a, q[half]),
                                   ops::fma_d(p[half], ops::load_d(table.quarters_tail + at), e));
    r[half] = ops::mul_d(quarters, ops::set1_d(1.5707963267948966192313216916398));
  }
  quadrant = ops::to_int(q[0], q[1]);
  x = ops::to_float(r[0], r[1]);
}

// sin and cos of q*pi/2 + x for x in [-pi/4, pi/4]. Taylor series to x^9 and
// x^10 (truncation below 2e-9) evaluated in float.
inline void sincos(typename ops::vi quadrant, typename ops::vf x, typename ops::vf& sin_out,
                   typename ops::vf& cos_out) {
  using vf = typename ops::vf;
  const vf x2 = ops::mul(x, x);
  vf s = ops::set1(1.0f / 362880.0f);
  s = ops::fmadd(s, x2, ops::set1(-1.0f / 5040.0f));
  s = ops::fmadd(s, x2, ops::set1(1.0f / 120.0f));
  s = ops::fmadd(s, x2, ops::set1(-1.0f / 6.0f));
  s = ops::fmadd(ops::mul(s, x2), x, x);
  vf c = ops::set1(-1.0f / 3628800.0f);
  c = ops::fmadd(c, x2, ops::set1(1.0f / 40320.0f));
  c = ops::fmadd(c, x2, ops::set1(-1.0f / 720.0f));
  c = ops::fmadd(c, x2, ops::set1(1.0f / 24.0f));
  c = ops::fmadd(c, x2, ops::set1(-0.5f));
  c = ops::fmadd(c, x2, ops::set1(1.0f));
  ops::quadrant_fixup(quadrant, s, c);
  sin_out = s;
  cos_out = c;
}

// cos/sin (times the direction's scale) of pairs [j0, j0 + n) for one token.
// c and s need room for n rounded up to kF; the table is padded likewise.
inline void cos_sin(const AngleTable& table,
                    const double (&position_by_axis)[Positions::kMaxAxes], std::int64_t j0,
                    std::int64_t n, RotationScale scale, float* c, float* s) {
  using vd = typename ops::vd;
  using vf = typename ops::vf;
  // Multimodal tables read a position per pair; others broadcast one, as do
  // multimodal tokens whose axes agree (text tokens, so every decode step).
  alignas(64) double pair_position[kPairBlock + 32];
  const bool one_axis = table.axes == 1 || (position_by_axis[1] == position_by_axis[0] &&
                                               position_by_axis[2] == position_by_axis[0]);
  if (!one_axis) {
    const std::uint8_t* axis = table.axis + j0;
    for (std::int64_t i = 0; i < n; ++i) pair_position[i] = position_by_axis[axis[i]];
    for (std::int64_t i = n; i < n + ops::kF; ++i) pair_position[i] = 0.0;
  }
  const vd broadcast = ops::set1_d(position_by_axis[0]);
  const bool scaled = scale.cos_scale != 1.0 || scale.sin_scale != 1.0;
  const vf cos_scale = ops::set1(static_cast<float>(scale.cos_scale));
  const vf sin_scale = ops::set1(static_cast<float>(scale.sin_scale));
  for (std::int64_t i = 0; i < n; i += ops::kF) {
    const vd p_lo = one_axis ? broadcast : ops::load_d(pair_position + i);
    const vd p_hi = one_axis ? broadcast : ops::load_d(pair_position + i + ops::kD);
    typename ops::vi quadrant;
    vf x, sn, cn;
    reduce(table, j0 + i, p_lo, p_hi, quadrant, x);
    sincos(quadrant, x, sn, cn);
    if (scaled) {
      cn = ops::mul(cn, cos_scale);
      sn = ops::mul(sn, sin_scale);
    }
    ops::store(c + i, cn);
    ops::store(s + i, sn);
  }
}


// One token's cos/sin for pairs [j0, j0 + n) as the rotations read them:
// the job's precomputed rows or angles formed here, and for the interleaved
// layout c2/s2 with each cos twice and (-sin, +sin).
template <Layout L>
struct BlockAngles {
  alignas(64) float c_block[kPairBlock + 32];
  alignas(64) float s_block[kPairBlock + 32];
  alignas(64) float c2[L == Layout::interleaved ? 2 * kPairBlock + 2 * ops::kF : 1];
  alignas(64) float s2[L == Layout::interleaved ? 2 * kPairBlock + 2 * ops::kF : 1];
  const float* c = c_block;
  const float* s = s_block;

  template <class Job>
  void form(const Job& job, std::int64_t /*t*/,
            const double (&position_by_axis)[Positions::kMaxAxes],
            std::int64_t j0, std::int64_t n) {
    c = c_block;
    s = s_block;
    if (job.rows.cos != nullptr) {
      const std::int64_t row =
          static_cast<std::int64_t>(position_by_axis[0]) * job.rows.stride + j0;
      c = job.rows.cos + row;
      s = job.rows.sin + row;
    } else {
      cos_sin(job.table, position_by_axis, j0, n, job.scale, c_block, s_block);
    }
    if constexpr (L == Layout::interleaved) {
      const typename ops::vf minus_one = ops::set1(-1.0f);
      for (std::int64_t i = 0; i < n; i += ops::kF) {
        const typename ops::vf cv = ops::load(c + i), sv = ops::load(s + i);
        ops::zip(cv, cv, c2 + 2 * i);
        ops::zip(ops::mul(sv, minus_one), sv, s2 + 2 * i);
      }
    }
  }
};
