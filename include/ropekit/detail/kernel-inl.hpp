// SPDX-License-Identifier: Apache-2.0
// The SIMD kernel, written once over an `ops` struct and included (no
// include guard, on purpose) inside each ISA namespace after its `ops`, and
// inside that ISA's target region, so every function here is compiled for
// that ISA only. Highway's "-inl.h" headers work the same way.
//
// Per token: the angle of every pair reduced exactly in double to a quarter
// turn and a remainder in [-pi/4, pi/4], sin/cos of the remainder in float
// (the remainder is exact to 2.3e-8 rad, the polynomials to float rounding),
// then every q and k head of the token rotated with FMA and stored back in its
// storage type.
//
// `ops` provides kF float lanes (vf), kD = kF/2 double lanes (vd), kF int32
// lanes (vi) and: load/store of float, Eigen::half and Eigen::bfloat16
// (full and partial; the kernel uses float partials only where
// kNativeMasks); set1, mul, fmadd, fmsub, swap_pairs, zip on vf; set1_d,
// load_d, add_d, sub_d, mul_d, fma_d, fms_d (a*b - c), round_d on vd;
// to_float and to_int (two vd halves to one vf / vi; to_int takes integers
// below 2^51 in magnitude and keeps them mod 2^32); quadrant_fixup; and,
// where kBfloat16Words, load_words, low_halves, high_halves, store_words.

// While one token's cos/sin are computed the memory stream stalls; calls
// whose data cannot stay in cache therefore prefetch the next token's heads
// as they rotate this token's (on cache-resident data the prefetches only
// cost instructions, so small calls skip them). Prefetches go by cache line,
// not by vector: a 64-byte vector step covers two 32-byte vectors of AVX2
// but only one of AVX-512, and prefetching one line per two AVX-512 vectors
// left every other line to the hardware (Zen 5: float prefill at 0.61 of the
// in-place pass instead of 1.07).
inline constexpr std::uintptr_t kCacheLine = 64;

// Prefetches (for writing) the cache lines that start inside [p, p + n),
// and with `first` also the line holding p: called on consecutive pieces
// of a span, first piece first, it touches every line of the span once,
// whatever the vector width and element size.
template <class T>
inline void prefetch_lines(const T* p, std::int64_t n, bool first) {
  const auto begin = reinterpret_cast<std::uintptr_t>(p);
  const auto end = reinterpret_cast<std::uintptr_t>(p + n);
  std::uintptr_t line = (begin + kCacheLine - 1) & ~(kCacheLine - 1);
  if (first && line != begin) __builtin_prefetch(p, 1, 3);
  for (; line < end; line += kCacheLine) __builtin_prefetch(reinterpret_cast<const void*>(line), 1, 3);
}

template <class T, std::size_t N>
inline bool streams_from_memory(const HeadView<T> (&views)[N], std::int64_t tokens) {
  constexpr std::int64_t kCacheResidentBytes = std::int64_t{4} << 20;
  std::int64_t bytes = 0;
  for (const HeadView<T>& view : views)
    bytes += tokens * view.heads() * view.head_dim() * static_cast<std::int64_t>(sizeof(T));
  return tokens > 1 && bytes > kCacheResidentBytes;
}

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

// Tails shorter than a vector. With native masks (AVX-512), and for 16-bit
// storage (whose partial moves are a few integer loads/stores), they take
// the vector path. float tails without native masks go element by element with
// the same float operations (a*c - b*s as fma(a, c, -(b*s)), ...), so every
// lane gets the bits the vector path would give: AVX2's masked moves are
// slow on some cores and NEON has none.
template <class T>
constexpr bool kVectorTail = ops::kNativeMasks || sizeof(T) == 2;

template <class T>
inline void tail_half_split(T* x1, T* x2, int rest, const float* c, const float* s,
                            typename ops::vf cv, typename ops::vf sv) {
  if constexpr (kVectorTail<T>) {
    (void)c;
    (void)s;
    const typename ops::vf a = ops::load_partial(x1, rest), b = ops::load_partial(x2, rest);
    ops::store_partial(x1, ops::fmsub(a, cv, ops::mul(b, sv)), rest);
    ops::store_partial(x2, ops::fmadd(b, cv, ops::mul(a, sv)), rest);
  } else {
    (void)cv;
    (void)sv;
    for (int k = 0; k < rest; ++k) {
      const float a = x1[k], b = x2[k];
      const float bs = b * s[k], as = a * s[k];
      x1[k] = __builtin_fmaf(a, c[k], -bs);
      x2[k] = __builtin_fmaf(b, c[k], as);
    }
  }
}

template <class T>
inline void tail_interleaved(T* x, int rest, const float* c2, const float* s2,
                             typename ops::vf cv, typename ops::vf sv) {
  if constexpr (kVectorTail<T>) {
    (void)c2;
    (void)s2;
    const typename ops::vf a = ops::load_partial(x, rest);
    ops::store_partial(x, ops::fmadd(a, cv, ops::mul(ops::swap_pairs(a), sv)), rest);
  } else {
    (void)cv;
    (void)sv;
    for (int k = 0; k < rest; k += 2) {
      const float a = x[k], b = x[k + 1];
      const float bs = b * s2[k], as = a * s2[k + 1];
      x[k] = __builtin_fmaf(a, c2[k], bs);
      x[k + 1] = __builtin_fmaf(b, c2[k + 1], as);
    }
  }
}

// Two vectors of pairs of one head, cos/sin in registers.
template <class T>
inline void rotate_pairs_half_split(T* x1, T* x2, typename ops::vf c0, typename ops::vf c1,
                                    typename ops::vf s0, typename ops::vf s1) {
  constexpr std::int64_t kF = ops::kF;
  const typename ops::vf a0 = ops::load(x1), a1 = ops::load(x1 + kF);
  const typename ops::vf b0 = ops::load(x2), b1 = ops::load(x2 + kF);
  ops::store(x1, ops::fmsub(a0, c0, ops::mul(b0, s0)));
  ops::store(x1 + kF, ops::fmsub(a1, c1, ops::mul(b1, s1)));
  ops::store(x2, ops::fmadd(b0, c0, ops::mul(a0, s0)));
  ops::store(x2 + kF, ops::fmadd(b1, c1, ops::mul(a1, s1)));
}

template <class T>
inline void rotate_pairs_interleaved(T* x, typename ops::vf c0, typename ops::vf c1,
                                     typename ops::vf s0, typename ops::vf s1) {
  constexpr std::int64_t kF = ops::kF;
  const typename ops::vf a0 = ops::load(x), a1 = ops::load(x + kF);
  ops::store(x, ops::fmadd(a0, c0, ops::mul(ops::swap_pairs(a0), s0)));
  ops::store(x + kF, ops::fmadd(a1, c1, ops::mul(ops::swap_pairs(a1), s1)));
}

// The next token's lines that [x, x + n) will touch, for streaming calls
// (see prefetch_lines; `first` marks the first piece of a head's span).
template <bool kPrefetch, class T>
inline void prefetch_next(const T* x, std::int64_t next_token, std::int64_t n, bool first) {
  if constexpr (kPrefetch) prefetch_lines(x + next_token, n, first);
}

// Visit order of one token's heads. Blocked (one column of pairs across all
// heads, cos/sin held in registers) is fastest in cache, where head by head
// loses a quarter, and for half-split 16-bit storage. Calls streaming from
// memory otherwise go head by head, sequential for the prefetchers, reloading
// cos/sin from L1: on Zen 1 at 16K tokens of Llama-3-8B, float half-split
// 0.89 against 0.82 of the in-place pass, interleaved half ~10% faster.
template <class T, bool kPrefetch, Layout L>
constexpr bool head_major() {
  return kPrefetch && (sizeof(T) == 4 || L == Layout::interleaved);
}

// Half-split pairs [0, n) of one head (x1: first channel of the block, x2 =
// x1 + half): two vectors at a time, then one, then the tail.
template <bool kPrefetch, class T>
inline void rotate_head_half_split(T* x1, T* x2, std::int64_t n, std::int64_t next_token,
                                   const float* c, const float* s) {
  constexpr std::int64_t kF = ops::kF;
  std::int64_t i = 0;
  for (; i + 2 * kF <= n; i += 2 * kF) {
    prefetch_next<kPrefetch>(x1 + i, next_token, 2 * kF, i == 0);
    prefetch_next<kPrefetch>(x2 + i, next_token, 2 * kF, i == 0);
    rotate_pairs_half_split(x1 + i, x2 + i, ops::load(c + i), ops::load(c + i + kF),
                            ops::load(s + i), ops::load(s + i + kF));
  }
  for (; i < n; i += kF) {
    const int rest = static_cast<int>(n - i < kF ? n - i : kF);
    prefetch_next<kPrefetch>(x1 + i, next_token, rest, i == 0);
    prefetch_next<kPrefetch>(x2 + i, next_token, rest, i == 0);
    const typename ops::vf cv = ops::load(c + i), sv = ops::load(s + i);  // buffers are padded
    if (rest == kF) {
      const typename ops::vf a = ops::load(x1 + i), b = ops::load(x2 + i);
      ops::store(x1 + i, ops::fmsub(a, cv, ops::mul(b, sv)));
      ops::store(x2 + i, ops::fmadd(b, cv, ops::mul(a, sv)));
    } else {
      tail_half_split(x1 + i, x2 + i, rest, c + i, s + i, cv, sv);
    }
  }
}

// Half-split pairs [j0, j0 + n) of every head of one token: pair j is
// channels (j, j + half), in the order head_major() picks.
template <bool kPrefetch, class T, std::size_t N>
inline void rotate_half_split(const HeadView<T> (&views)[N], std::int64_t token, std::int64_t half,
                              std::int64_t j0, std::int64_t n, const float* c, const float* s) {
  using vf = typename ops::vf;
  constexpr std::int64_t kF = ops::kF;
  if constexpr (head_major<T, kPrefetch, Layout::half_split>()) {
    for (const HeadView<T>& view : views) {
      T* x1 = view.head(token, 0) + j0;
      const std::int64_t stride = view.head_stride();
      const std::int64_t next_token = view.token_stride();
      for (std::int64_t h = view.heads(); h > 0; --h, x1 += stride)
        rotate_head_half_split<kPrefetch>(x1, x1 + half, n, next_token, c, s);
    }
    return;
  }
  std::int64_t i = 0;
  for (; i + 2 * kF <= n; i += 2 * kF) {
    const vf c0 = ops::load(c + i), c1 = ops::load(c + i + kF);
    const vf s0 = ops::load(s + i), s1 = ops::load(s + i + kF);
    for (const HeadView<T>& view : views) {
      // Locals, not view members: the vector stores may alias anything, and
      // reloading the view's fields after each store serialises the heads.
      T* x1 = view.head(token, 0) + j0 + i;
      const std::int64_t stride = view.head_stride();
      const std::int64_t next_token = view.token_stride();
      for (std::int64_t h = view.heads(); h > 0; --h, x1 += stride) {
        T* x2 = x1 + half;
        prefetch_next<kPrefetch>(x1, next_token, 2 * kF, i == 0);
        prefetch_next<kPrefetch>(x2, next_token, 2 * kF, i == 0);
        rotate_pairs_half_split(x1, x2, c0, c1, s0, s1);
      }
    }
  }
  for (; i < n; i += kF) {
    const int rest = static_cast<int>(n - i < kF ? n - i : kF);
    const vf cv = ops::load(c + i), sv = ops::load(s + i);  // buffers are padded
    for (const HeadView<T>& view : views) {
      T* x1 = view.head(token, 0) + j0 + i;
      const std::int64_t stride = view.head_stride();
      const std::int64_t next_token = view.token_stride();
      for (std::int64_t h = view.heads(); h > 0; --h, x1 += stride) {
        T* x2 = x1 + half;
        prefetch_next<kPrefetch>(x1, next_token, rest, i == 0);
        prefetch_next<kPrefetch>(x2, next_token, rest, i == 0);
        if (rest == kF) {
          const vf a = ops::load(x1), b = ops::load(x2);
          ops::store(x1, ops::fmsub(a, cv, ops::mul(b, sv)));
          ops::store(x2, ops::fmadd(b, cv, ops::mul(a, sv)));
        } else {
          tail_half_split(x1, x2, rest, c + i, s + i, cv, sv);
        }
      }
    }
  }
}

// Interleaved channels [0, channels) of one head, cos/sin expanded (c2, s2;
// see rotate_token); `first` when x starts the head's rotated span.
template <bool kPrefetch, class T>
inline void rotate_head_interleaved(T* x, std::int64_t channels, std::int64_t next_token,
                                    const float* c2, const float* s2, bool first) {
  constexpr std::int64_t kF = ops::kF;
  std::int64_t i = 0;
  for (; i + 2 * kF <= channels; i += 2 * kF) {
    prefetch_next<kPrefetch>(x + i, next_token, 2 * kF, first && i == 0);
    rotate_pairs_interleaved(x + i, ops::load(c2 + i), ops::load(c2 + i + kF), ops::load(s2 + i),
                             ops::load(s2 + i + kF));
  }
  for (; i < channels; i += kF) {
    const int rest = static_cast<int>(channels - i < kF ? channels - i : kF);
    prefetch_next<kPrefetch>(x + i, next_token, rest, first && i == 0);
    const typename ops::vf cv = ops::load(c2 + i), sv = ops::load(s2 + i);
    if (rest == kF) {
      const typename ops::vf a = ops::load(x + i);
      ops::store(x + i, ops::fmadd(a, cv, ops::mul(ops::swap_pairs(a), sv)));
    } else {
      tail_interleaved(x + i, rest, c2 + i, s2 + i, cv, sv);
    }
  }
}

// Interleaved channels [i0, channels) of every head, blocked: one column
// across all heads at a time, cos/sin in registers.
template <bool kPrefetch, class T, std::size_t N>
inline void rotate_interleaved_blocked(const HeadView<T> (&views)[N], std::int64_t token,
                                       std::int64_t i0, std::int64_t channels, const float* c2,
                                       const float* s2) {
  using vf = typename ops::vf;
  constexpr std::int64_t kF = ops::kF;
  std::int64_t i = 0;
  for (; i + 2 * kF <= channels; i += 2 * kF) {
    const vf c0 = ops::load(c2 + i), c1 = ops::load(c2 + i + kF);
    const vf s0 = ops::load(s2 + i), s1 = ops::load(s2 + i + kF);
    for (const HeadView<T>& view : views) {
      T* x = view.head(token, 0) + i0 + i;
      const std::int64_t stride = view.head_stride();
      const std::int64_t next_token = view.token_stride();
      for (std::int64_t h = view.heads(); h > 0; --h, x += stride) {
        prefetch_next<kPrefetch>(x, next_token, 2 * kF, i0 + i == 0);
        rotate_pairs_interleaved(x, c0, c1, s0, s1);
      }
    }
  }
  for (; i < channels; i += kF) {
    const int rest = static_cast<int>(channels - i < kF ? channels - i : kF);
    const vf cv = ops::load(c2 + i), sv = ops::load(s2 + i);
    for (const HeadView<T>& view : views) {
      T* x = view.head(token, 0) + i0 + i;
      const std::int64_t stride = view.head_stride();
      const std::int64_t next_token = view.token_stride();
      for (std::int64_t h = view.heads(); h > 0; --h, x += stride) {
        prefetch_next<kPrefetch>(x, next_token, rest, i0 + i == 0);
        if (rest == kF) {
          const vf a = ops::load(x);
          ops::store(x, ops::fmadd(a, cv, ops::mul(ops::swap_pairs(a), sv)));
        } else {
          tail_interleaved(x, rest, c2 + i, s2 + i, cv, sv);
        }
      }
    }
  }
}

// Interleaved bfloat16 pairs [0, n) of one head, n a multiple of kF, through
// ops' 32-bit words: the same float operations as the interleaved rotation
// (so the same bits), with cos/sin per pair instead of expanded.
template <bool kPrefetch, class T, class O = ops>
inline void rotate_head_words(T* x, std::int64_t n, std::int64_t next_token, const float* c,
                              const float* s) {
  for (std::int64_t i = 0; i < n; i += O::kF) {
    T* words_at = x + 2 * i;
    prefetch_next<kPrefetch>(words_at, next_token, 2 * O::kF, i == 0);
    const typename O::vf cv = O::load(c + i), sv = O::load(s + i);
    const typename O::vi words = O::load_words(words_at);
    const typename O::vf even = O::low_halves(words), odd = O::high_halves(words);
    O::store_words(words_at, O::fmsub(even, cv, O::mul(odd, sv)),
                   O::fmadd(odd, cv, O::mul(even, sv)));
  }
}

// The same, blocked: one column of kF pairs across all heads at a time.
template <bool kPrefetch, class T, std::size_t N, class O = ops>
inline void rotate_words_blocked(const HeadView<T> (&views)[N], std::int64_t token,
                                 std::int64_t j0, std::int64_t n, const float* c, const float* s) {
  for (std::int64_t i = 0; i < n; i += O::kF) {
    const typename O::vf cv = O::load(c + i), sv = O::load(s + i);
    for (const HeadView<T>& view : views) {
      T* x = view.head(token, 0) + 2 * (j0 + i);
      const std::int64_t stride = view.head_stride();
      const std::int64_t next_token = view.token_stride();
      for (std::int64_t h = view.heads(); h > 0; --h, x += stride) {
        prefetch_next<kPrefetch>(x, next_token, 2 * O::kF, i == 0);
        const typename O::vi words = O::load_words(x);
        const typename O::vf even = O::low_halves(words), odd = O::high_halves(words);
        O::store_words(x, O::fmsub(even, cv, O::mul(odd, sv)), O::fmadd(odd, cv, O::mul(even, sv)));
      }
    }
  }
}

// Rotates pairs [j0, j0 + n) of every head of one token with cos/sin c, s
// (room for n rounded up to kF, zero padded is fine).
template <Layout L, bool kPrefetch, class T, std::size_t N>
inline void rotate_token(const HeadView<T> (&views)[N], std::int64_t token, std::int64_t half,
                         std::int64_t j0, std::int64_t n, const float* c, const float* s) {
  if constexpr (L == Layout::half_split) {
    rotate_half_split<kPrefetch>(views, token, half, j0, n, c, s);
  } else {
    constexpr bool kWords = std::is_same_v<T, Eigen::bfloat16> && ops::kBfloat16Words;
    const std::int64_t words = kWords ? n - n % ops::kF : 0;
    // Each cos twice, and (-sin, +sin), as the interleaved rotation reads them.
    alignas(64) float c2[2 * kPairBlock + 2 * ops::kF];
    alignas(64) float s2[2 * kPairBlock + 2 * ops::kF];
    const typename ops::vf minus_one = ops::set1(-1.0f);
    for (std::int64_t i = 0; i < n - words; i += ops::kF) {
      const typename ops::vf cv = ops::load(c + words + i), sv = ops::load(s + words + i);
      ops::zip(cv, cv, c2 + 2 * i);
      ops::zip(ops::mul(sv, minus_one), sv, s2 + 2 * i);
    }
    if constexpr (head_major<T, kPrefetch, Layout::interleaved>()) {
      for (const HeadView<T>& view : views) {
        T* x = view.head(token, 0) + 2 * j0;
        const std::int64_t stride = view.head_stride();
        const std::int64_t next_token = view.token_stride();
        for (std::int64_t h = view.heads(); h > 0; --h, x += stride) {
          if constexpr (kWords) rotate_head_words<kPrefetch>(x, words, next_token, c, s);
          rotate_head_interleaved<kPrefetch>(x + 2 * words, 2 * (n - words), next_token, c2, s2,
                                             words == 0);
        }
      }
    } else {
      if constexpr (kWords) rotate_words_blocked<kPrefetch>(views, token, j0, words, c, s);
      rotate_interleaved_blocked<kPrefetch>(views, token, 2 * (j0 + words), 2 * (n - words), c2,
                                            s2);
    }
  }
}

// Rotates tokens [begin, end) of a validated job: per token and block of
// pairs, cos/sin from the job's rows or formed exactly here, then every head.
template <Layout L, bool kPrefetch, class T, std::size_t N>
inline void run_tokens(const Job<T, N>& job, std::int64_t begin, std::int64_t end) {
  const HeadView<T>(&views)[N] = *job.views;
  const std::int64_t half = job.pairs;
  alignas(64) float c_block[kPairBlock + 32];
  alignas(64) float s_block[kPairBlock + 32];
  for (std::int64_t t = begin; t < end; ++t) {
    double position_by_axis[Positions::kMaxAxes];
    token_positions(job.positions, t, position_by_axis);
    for (std::int64_t j0 = 0; j0 < half; j0 += kPairBlock) {
      const std::int64_t n = half - j0 < kPairBlock ? half - j0 : kPairBlock;
      const float* c = c_block;
      const float* s = s_block;
      if (job.rows.cos != nullptr) {
        const std::int64_t row = job.positions.at(t, 0) * job.rows.stride + j0;
        c = job.rows.cos + row;
        s = job.rows.sin + row;
      } else {
        cos_sin(job.table, position_by_axis, j0, n, job.scale, c_block, s_block);
      }
      rotate_token<L, kPrefetch>(views, t, half, j0, n, c, s);
    }
  }
}

struct kernel {
  // Rotates tokens [begin, end) of a validated job; calls that stream from
  // memory take the prefetching, streaming visit order.
  template <Layout L, class T, std::size_t N>
  ROPEKIT_NOINLINE static void run(const Job<T, N>& job, std::int64_t begin, std::int64_t end) {
    if (streams_from_memory(*job.views, end - begin))
      run_tokens<L, true>(job, begin, end);
    else
      run_tokens<L, false>(job, begin, end);
  }

  // Fills cos/sin rows for positions [first, first + count) of a table, as
  // run() forms them, so cached and uncached calls agree bit for bit.
  ROPEKIT_NOINLINE static void fill_rows(const AngleTable& table, std::int64_t pairs,
                                         std::int64_t first, std::int64_t count,
                                         std::int64_t row_stride, float* cos_rows,
                                         float* sin_rows) {
    const RotationScale scale = rotation_scale(table.attention_factor, Direction::forward);
    alignas(64) float c[kPairBlock + 32];
    alignas(64) float s[kPairBlock + 32];
    for (std::int64_t p = first; p < first + count; ++p) {
      const double position_by_axis[Positions::kMaxAxes] = {
          static_cast<double>(p), static_cast<double>(p), static_cast<double>(p)};
      for (std::int64_t j0 = 0; j0 < pairs; j0 += kPairBlock) {
        const std::int64_t n = pairs - j0 < kPairBlock ? pairs - j0 : kPairBlock;
        cos_sin(table, position_by_axis, j0, n, scale, c, s);
        for (std::int64_t i = 0; i < n; ++i) {
          cos_rows[(p - first) * row_stride + j0 + i] = c[i];
          sin_rows[(p - first) * row_stride + j0 + i] = s[i];
        }
      }
    }
  }
};
