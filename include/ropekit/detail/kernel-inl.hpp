// SPDX-License-Identifier: Apache-2.0
// The SIMD kernel, written once over an `ops` struct and included (no
// include guard, on purpose) inside each ISA namespace after its `ops`, and
// inside that ISA's target region, so every function here is compiled for
// that ISA only. Highway's "-inl.h" headers work the same way.
//
// Per token: the fractional turn of every pair in double (exact, see
// FrequencyTable), a double sincos on the reduced angle, cos/sin rounded to
// float once; then every q and k head of the token is rotated in float with
// FMA and stored back in its storage type.
//
// `ops` provides: kF float lanes (vf), kD double lanes (vd); load/store of
// float, Eigen::half and Eigen::bfloat16 (full and partial); mul, fmadd,
// fmsub, swap_pairs on vf; set1_d, load_d, add_d, sub_d, mul_d, fma_d,
// round_d, quadrant_fixup, store_d_as_f on vd.

// Turns in [-0.5, 0.5] to (sin, cos) of 2*pi*turns, accurate to ~1e-14.
inline void sincos_turns(typename ops::vd turns, typename ops::vd& sin_out,
                         typename ops::vd& cos_out) {
  using vd = typename ops::vd;
  // Nearest quarter turn q and the remainder r in [-1/2, 1/2] quarter turns
  // (4*turns and the subtraction are exact), so x = r*pi/2 lies in
  // [-pi/4, pi/4] where short Taylor series are enough.
  const vd four_turns = ops::mul_d(turns, ops::set1_d(4.0));
  const vd quadrant = ops::round_d(four_turns);
  const vd x = ops::mul_d(ops::sub_d(four_turns, quadrant),
                          ops::set1_d(1.5707963267948966192313216916398));
  const vd x2 = ops::mul_d(x, x);
  // sin: x - x^3/3! + ... + x^13/13! (next term < 3e-14 at pi/4)
  vd s = ops::set1_d(1.0 / 6227020800.0);
  s = ops::fma_d(s, x2, ops::set1_d(-1.0 / 39916800.0));
  s = ops::fma_d(s, x2, ops::set1_d(1.0 / 362880.0));
  s = ops::fma_d(s, x2, ops::set1_d(-1.0 / 5040.0));
  s = ops::fma_d(s, x2, ops::set1_d(1.0 / 120.0));
  s = ops::fma_d(s, x2, ops::set1_d(-1.0 / 6.0));
  s = ops::fma_d(ops::mul_d(s, x2), x, x);
  // cos: 1 - x^2/2! + ... + x^14/14! (next term < 2e-15 at pi/4)
  vd c = ops::set1_d(-1.0 / 87178291200.0);
  c = ops::fma_d(c, x2, ops::set1_d(1.0 / 479001600.0));
  c = ops::fma_d(c, x2, ops::set1_d(-1.0 / 3628800.0));
  c = ops::fma_d(c, x2, ops::set1_d(1.0 / 40320.0));
  c = ops::fma_d(c, x2, ops::set1_d(-1.0 / 720.0));
  c = ops::fma_d(c, x2, ops::set1_d(1.0 / 24.0));
  c = ops::fma_d(c, x2, ops::set1_d(-0.5));
  c = ops::fma_d(c, x2, ops::set1_d(1.0));
  // sin(q*pi/2 + x) and cos(q*pi/2 + x) from sin x, cos x.
  ops::quadrant_fixup(quadrant, s, c);
  sin_out = s;
  cos_out = c;
}

// cos/sin (times the direction's scale) of pairs [j0, j0 + n), as floats.
// c and s need room for n rounded up to kD; the table is padded likewise.
inline void cos_sin(const FrequencyTable& table,
                    const double (&position_by_axis)[Positions::kMaxAxes], std::int64_t j0,
                    std::int64_t n, RotationScale scale, float* c, float* s) {
  using vd = typename ops::vd;
  const double* hi = table.turns_hi() + j0;
  const double* mid = table.turns_mid() + j0;
  const double* lo = table.turns_lo() + j0;
  // Multimodal tables read a position per pair; others broadcast one.
  alignas(64) double pair_position[kPairBlock + 16];
  const bool one_axis = table.axes() == 1;
  if (!one_axis) {
    const std::uint8_t* axis = table.position_axis() + j0;
    for (std::int64_t i = 0; i < n; ++i) pair_position[i] = position_by_axis[axis[i]];
    for (std::int64_t i = n; i < n + ops::kD; ++i) pair_position[i] = 0.0;
  }
  const vd broadcast = ops::set1_d(position_by_axis[0]);
  const vd cos_scale = ops::set1_d(scale.cos_scale);
  const vd sin_scale = ops::set1_d(scale.sin_scale);
  for (std::int64_t i = 0; i < n; i += ops::kD) {
    const vd p = one_axis ? broadcast : ops::load_d(pair_position + i);
    vd a = ops::mul_d(p, ops::load_d(hi + i));
    a = ops::sub_d(a, ops::round_d(a));
    vd b = ops::mul_d(p, ops::load_d(mid + i));
    b = ops::sub_d(b, ops::round_d(b));
    vd turns = ops::fma_d(p, ops::load_d(lo + i), ops::add_d(a, b));
    turns = ops::sub_d(turns, ops::round_d(turns));
    vd sn, cn;
    sincos_turns(turns, sn, cn);
    ops::store_d_as_f(c + i, ops::mul_d(cn, cos_scale));
    ops::store_d_as_f(s + i, ops::mul_d(sn, sin_scale));
  }
}

// Half-split pairs: x[j] with x[j + half].
template <class T>
inline void rotate_half_split(T* x, std::int64_t half, std::int64_t j0, std::int64_t n,
                              const float* c, const float* s) {
  using vf = typename ops::vf;
  T* x1 = x + j0;
  T* x2 = x + half + j0;
  std::int64_t i = 0;
  for (; i + ops::kF <= n; i += ops::kF) {
    const vf cv = ops::load(c + i);
    const vf sv = ops::load(s + i);
    const vf a = ops::load(x1 + i);
    const vf b = ops::load(x2 + i);
    ops::store(x1 + i, ops::fmsub(a, cv, ops::mul(b, sv)));
    ops::store(x2 + i, ops::fmadd(b, cv, ops::mul(a, sv)));
  }
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    const vf cv = ops::load_partial(c + i, rest);
    const vf sv = ops::load_partial(s + i, rest);
    const vf a = ops::load_partial(x1 + i, rest);
    const vf b = ops::load_partial(x2 + i, rest);
    ops::store_partial(x1 + i, ops::fmsub(a, cv, ops::mul(b, sv)), rest);
    ops::store_partial(x2 + i, ops::fmadd(b, cv, ops::mul(a, sv)), rest);
  }
}

// Interleaved pairs: x[2j] with x[2j+1]. c2 holds each cos twice and s2 holds
// (-sin, +sin), so one multiply-add with the pair-swapped vector rotates.
template <class T>
inline void rotate_interleaved(T* x, std::int64_t channels, const float* c2, const float* s2) {
  using vf = typename ops::vf;
  std::int64_t i = 0;
  for (; i + ops::kF <= channels; i += ops::kF) {
    const vf a = ops::load(x + i);
    ops::store(x + i, ops::fmadd(a, ops::load(c2 + i), ops::mul(ops::swap_pairs(a), ops::load(s2 + i))));
  }
  if (i < channels) {
    const int rest = static_cast<int>(channels - i);
    const vf a = ops::load_partial(x + i, rest);
    ops::store_partial(
        x + i,
        ops::fmadd(a, ops::load_partial(c2 + i, rest),
                   ops::mul(ops::swap_pairs(a), ops::load_partial(s2 + i, rest))),
        rest);
  }
}

// Rotates pairs [j0, j0 + n) of every head of one token.
template <Layout L, class T, std::size_t N>
inline void rotate_token(const HeadView<T> (&views)[N], std::int64_t token, std::int64_t half,
                         std::int64_t j0, std::int64_t n, const float* c, const float* s) {
  if constexpr (L == Layout::half_split) {
    for (const HeadView<T>& view : views)
      for (std::int64_t h = 0; h < view.heads(); ++h)
        rotate_half_split(view.head(token, h), half, j0, n, c, s);
  } else {
    alignas(64) float c2[2 * kPairBlock];
    alignas(64) float s2[2 * kPairBlock];
    for (std::int64_t i = 0; i < n; ++i) {
      c2[2 * i] = c[i];
      c2[2 * i + 1] = c[i];
      s2[2 * i] = -s[i];
      s2[2 * i + 1] = s[i];
    }
    for (const HeadView<T>& view : views)
      for (std::int64_t h = 0; h < view.heads(); ++h)
        rotate_interleaved(view.head(token, h) + 2 * j0, 2 * n, c2, s2);
  }
}

template <Layout L, class T, std::size_t N>
ROPEKIT_NOINLINE void apply(const FrequencyTable& table, const RotaryDims& dims,
                  const HeadView<T> (&views)[N], const Positions& positions,
                  std::int64_t token_begin, std::int64_t token_end, Direction direction) {
  const RotationScale scale = rotation_scale(table, direction);
  const std::int64_t half = dims.pairs();
  alignas(64) float c[kPairBlock + 16];
  alignas(64) float s[kPairBlock + 16];
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

// Cos/sin rows from a precomputed table (CosSinCache), one row per position.
template <Layout L, class T, std::size_t N, class Rows>
ROPEKIT_NOINLINE void apply_rows(const Rows& rows, const RotaryDims& dims, const HeadView<T> (&views)[N],
                       const Positions& positions, std::int64_t token_begin,
                       std::int64_t token_end) {
  const std::int64_t half = dims.pairs();
  for (std::int64_t t = token_begin; t < token_end; ++t) {
    const std::int64_t p = positions.at(t, 0);
    const float* c = rows.cos_row(p);
    const float* s = rows.sin_row(p);
    for (std::int64_t j0 = 0; j0 < half; j0 += kPairBlock) {
      const std::int64_t n = half - j0 < kPairBlock ? half - j0 : kPairBlock;
      rotate_token<L>(views, t, half, j0, n, c + j0, s + j0);
    }
  }
}

// Fills cos/sin rows for positions [first, first + count) of a table.
ROPEKIT_NOINLINE inline void fill_rows(const FrequencyTable& table, std::int64_t first, std::int64_t count,
                      std::int64_t row_stride, float* cos_rows, float* sin_rows) {
  const RotationScale scale = rotation_scale(table, Direction::forward);
  const std::int64_t half = table.pairs();
  alignas(64) float c[kPairBlock + 16];
  alignas(64) float s[kPairBlock + 16];
  for (std::int64_t p = first; p < first + count; ++p) {
    const double position_by_axis[Positions::kMaxAxes] = {static_cast<double>(p),
                                                          static_cast<double>(p),
                                                          static_cast<double>(p)};
    for (std::int64_t j0 = 0; j0 < half; j0 += kPairBlock) {
      const std::int64_t n = half - j0 < kPairBlock ? half - j0 : kPairBlock;
      cos_sin(table, position_by_axis, j0, n, scale, c, s);
      for (std::int64_t i = 0; i < n; ++i) {
        cos_rows[(p - first) * row_stride + j0 + i] = c[i];
        sin_rows[(p - first) * row_stride + j0 + i] = s[i];
      }
    }
  }
}
