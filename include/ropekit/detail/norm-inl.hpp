// SPDX-License-Identifier: Apache-2.0
// Per-head RMSNorm fused with the rotation, for the SIMD kernel: included by
// kernel-inl.hpp (no include guard, on purpose) inside each ISA namespace,
// after HeadIO, head_io, copy_channels and copy_pass_through.
//
// A normalising stream reads each head twice, the second time from L1: once
// for its sum of squares (in double), once to normalise, rotate and store
// it. The weights are folded into the token's cos/sin once per block and
// stream (shared by all the stream's heads), so that a normalised pair
// costs one multiplication per output more than a plain rotation (three
// operations per vector, against five normalising each element first):
//   out_a = r * (a * (w_a c) - b * (w_b s)),  out_b = r * (b * (w_b c) + a * (w_a s))
// with w the weight (plus one for Gemma's (1 + w)) and r the head's factor;
// the scalar reference computes ((x r) w) and then the rotation, and the
// two agree to a few float roundings (tests/qk_norm_simd_test.cpp).

// The squares of a head's channels (FP8 scaled), in double: the whole
// vectors' sums lane by lane into `lanes` (ops::kD of them), the sum of the
// tail channels' squares returned. A head's sum is the lanes' sum in lane
// order plus the tail (head_square_sum). Every float square is exact in
// double, so the paths' sums (the scalar reference adds in order) differ by
// a few double roundings at most, and their norm factors rounded to float
// agree except within ~1e-16 of a float rounding boundary, where they
// differ by one ulp. Four accumulators: the additions are the loop's
// dependency chain.
template <class S, class D, bool kNorm>
inline double square_lanes(const HeadIO<S, D, kNorm>& io, std::int64_t head_dim, double* lanes) {
  using vd = typename ops::vd;
  const HeadIO<S, D, false> raw{io.src, io.dst, 0, io.src_scale, io.dst_scale, 1.0f, nullptr, 0.0f};
  vd acc0 = ops::set1_d(0.0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  std::int64_t c = 0;
  for (; c + 2 * ops::kF <= head_dim; c += 2 * ops::kF) {
    vd lo0, hi0, lo1, hi1;
    ops::widen_d(raw.load(c), lo0, hi0);
    ops::widen_d(raw.load(c + ops::kF), lo1, hi1);
    acc0 = ops::fma_d(lo0, lo0, acc0);
    acc1 = ops::fma_d(hi0, hi0, acc1);
    acc2 = ops::fma_d(lo1, lo1, acc2);
    acc3 = ops::fma_d(hi1, hi1, acc3);
  }
  if (c + ops::kF <= head_dim) {
    vd lo, hi;
    ops::widen_d(raw.load(c), lo, hi);
    acc0 = ops::fma_d(lo, lo, acc0);
    acc1 = ops::fma_d(hi, hi, acc1);
    c += ops::kF;
  }
  ops::store_d(lanes, ops::add_d(ops::add_d(acc0, acc1), ops::add_d(acc2, acc3)));
  double tail = 0.0;
  for (; c < head_dim; ++c) {
    const double x = raw.load_one(c);
    tail += x * x;
  }
  return tail;
}

inline double head_square_sum(const double* lanes, double tail) {
  double total = lanes[0];
  for (int i = 1; i < ops::kD; ++i) total += lanes[i];
  return total + tail;
}

template <class S, class D, bool kNorm>
inline double sum_of_squares(const HeadIO<S, D, kNorm>& io, std::int64_t head_dim) {
  alignas(64) double lanes[ops::kD];
  const double tail = square_lanes(io, head_dim, lanes);
  return head_square_sum(lanes, tail);
}

inline float rms_factor(double sum_of_squares, std::int64_t head_dim, float eps) {
  return static_cast<float>(1.0 / std::sqrt(sum_of_squares / static_cast<double>(head_dim) + eps));
}

// rms_factor of sums[0, count) into factors, ops::kD at a time (the same
// correctly rounded operations, so the same bits): one head's square root
// and division are a ~40-cycle chain that scalar code runs one by one.
// `sums` holds whole vectors, its entries past `count` set.
inline void rms_factors(const double* sums, std::int64_t count, std::int64_t head_dim, float eps,
                        float* factors) {
  using vd = typename ops::vd;
  const vd channels = ops::set1_d(static_cast<double>(head_dim));
  const vd epsilon = ops::set1_d(static_cast<double>(eps));
  const vd one = ops::set1_d(1.0);
  alignas(64) double lanes[ops::kD];
  for (std::int64_t h = 0; h < count; h += ops::kD) {
    const vd mean = ops::div_d(ops::load_d(sums + h), channels);
    ops::store_d(lanes, ops::div_d(one, ops::sqrt_d(ops::add_d(mean, epsilon))));
    for (std::int64_t i = 0; i < ops::kD && h + i < count; ++i)
      factors[h + i] = static_cast<float>(lanes[i]);
  }
}

// The most heads whose norm factors a job keeps across blocks of pairs
// (run_tokens_normalised), and the heads whose factors a one-block job takes
// together before they rotate (measured: 4 to 64 made no difference).
inline constexpr std::int64_t kNormHeadChunk = 64;
inline constexpr std::int64_t kNormFactorBatch = 16;

// The norm factors of heads [h0, h1) of token t (h1 - h0 <= kNormHeadChunk)
// into factors[0, h1 - h0), every sum before any square root: the heads'
// sums, square roots and divisions are independent chains that overlap.
// Taking each head's factor two heads ahead of its rotation left the
// rotations waiting on those ~100-cycle chains in order of retirement
// (Llama-3-8B q/k, prefill 4096, Xeon AVX-512: bfloat16 0.47 of the
// in-place pass so, 0.63-0.72 now; float 0.64-0.68 either way).
template <class Stream>
inline void norm_factors(const Geometry& g, const Stream& st, std::int64_t t, std::int64_t h0,
                         std::int64_t h1, float* factors) {
  static_assert(kNormHeadChunk % ops::kD == 0, "rms_factors reads whole vectors of sums");
  alignas(64) double lanes[kNormHeadChunk][ops::kD];
  alignas(64) double sums[kNormHeadChunk];
  for (std::int64_t h = h0; h < h1; ++h)
    sums[h - h0] = square_lanes(head_io(st, t, h), g.head_dim, lanes[h - h0]);
  for (std::int64_t h = h0; h < h1; ++h)
    sums[h - h0] = head_square_sum(lanes[h - h0], sums[h - h0]);
  for (std::int64_t h = h1 - h0; h % ops::kD != 0; ++h) sums[h] = 1.0;
  rms_factors(sums, h1 - h0, g.head_dim, st.norm.eps, factors);
}

// A block's cos/sin times the weights, zero-padded to whole vectors.
// Half-split: per pair, ac = w_a c, bs = w_b s, bc = w_b c, as = w_a s.
// Interleaved: per channel of c2/s2, wc = w c2 and ws = w_partner s2 (ac
// and bs hold them; 2n entries).
struct WeightedAngles {
  alignas(64) float ac[2 * kPairBlock + 2 * ops::kF];
  alignas(64) float bs[2 * kPairBlock + 2 * ops::kF];
  alignas(64) float bc[kPairBlock + 2 * ops::kF];
  alignas(64) float as[kPairBlock + 2 * ops::kF];
};

// Half-split pairs [0, n) whose first channels start at x1 and partners at
// x2, into entries [at, at + n) of `out` (then zeros to a whole vector).
inline void weigh_half_split(const NormSpec& norm, std::int64_t x1, std::int64_t x2, std::int64_t n,
                             const float* c, const float* s, WeightedAngles& out,
                             std::int64_t at) {
  using vf = typename ops::vf;
  const float bias = norm.plus_one ? 1.0f : 0.0f;
  const vf bias_v = ops::set1(bias);
  float* ac = out.ac + at;
  float* bs = out.bs + at;
  float* bc = out.bc + at;
  float* as = out.as + at;
  std::int64_t i = 0;
  for (; i + ops::kF <= n; i += ops::kF) {
    const vf wa = ops::add(ops::load(norm.weight + x1 + i), bias_v);
    const vf wb = ops::add(ops::load(norm.weight + x2 + i), bias_v);
    const vf cv = ops::load(c + i), sv = ops::load(s + i);
    ops::store(ac + i, ops::mul(wa, cv));
    ops::store(bs + i, ops::mul(wb, sv));
    ops::store(bc + i, ops::mul(wb, cv));
    ops::store(as + i, ops::mul(wa, sv));
  }
  for (; i < n; ++i) {
    const float wa = norm.weight[x1 + i] + bias, wb = norm.weight[x2 + i] + bias;
    ac[i] = wa * c[i];
    bs[i] = wb * s[i];
    bc[i] = wb * c[i];
    as[i] = wa * s[i];
  }
  for (; i % ops::kF != 0; ++i) ac[i] = bs[i] = bc[i] = as[i] = 0.0f;
}

// Interleaved channels [x, x + channels) with c2/s2 expanded per channel.
inline void weigh_interleaved(const NormSpec& norm, std::int64_t x, std::int64_t channels,
                              const float* c2, const float* s2, WeightedAngles& out) {
  using vf = typename ops::vf;
  const float bias = norm.plus_one ? 1.0f : 0.0f;
  const vf bias_v = ops::set1(bias);
  std::int64_t i = 0;
  for (; i + ops::kF <= channels; i += ops::kF) {
    const vf w = ops::add(ops::load(norm.weight + x + i), bias_v);
    ops::store(out.ac + i, ops::mul(w, ops::load(c2 + i)));
    ops::store(out.bs + i, ops::mul(ops::swap_pairs(w), ops::load(s2 + i)));
  }
  for (; i < channels; ++i) {
    out.ac[i] = (norm.weight[x + i] + bias) * c2[i];
    out.bs[i] = (norm.weight[x + (i ^ 1)] + bias) * s2[i];
  }
  for (; i % ops::kF != 0; ++i) out.ac[i] = out.bs[i] = 0.0f;
}

// The rotation of one normalised half-split head: pairs (x1 + i, x2 + i),
// i in [0, n), read through `io` (widened, FP8 scaled, not yet normalised),
// with weighted angles from entry `at` of `weighted`.
template <bool kPrefetch, class IO>
ROPEKIT_INLINE inline void rotate_normalised_half_split(const IO& io, std::int64_t x1,
                                                        std::int64_t x2, std::int64_t n,
                                                        const WeightedAngles& weighted,
                                                        std::int64_t at, float r) {
  const struct {
    const float *ac, *bs, *bc, *as;
  } w{weighted.ac + at, weighted.bs + at, weighted.bc + at, weighted.as + at};
  using S = std::remove_cv_t<std::remove_pointer_t<decltype(io.src)>>;
  using D = std::remove_pointer_t<decltype(io.dst)>;
  using vf = typename ops::vf;
  constexpr std::int64_t kF = ops::kF;
  const vf rv = ops::set1(r);
  const auto first = [&](vf a, vf b, std::int64_t i) {
    return ops::mul(rv, ops::fmsub(a, ops::load(w.ac + i), ops::mul(b, ops::load(w.bs + i))));
  };
  const auto second = [&](vf a, vf b, std::int64_t i) {
    return ops::mul(rv, ops::fmadd(b, ops::load(w.bc + i), ops::mul(a, ops::load(w.as + i))));
  };
  std::int64_t i = 0;
  for (; i + 2 * kF <= n; i += 2 * kF) {
    io.template prefetch<kPrefetch>(x1 + i, 2 * kF, i == 0);
    io.template prefetch<kPrefetch>(x2 + i, 2 * kF, i == 0);
    const vf a0 = io.load(x1 + i), a1 = io.load(x1 + i + kF);
    const vf b0 = io.load(x2 + i), b1 = io.load(x2 + i + kF);
    const vf o0 = first(a0, b0, i), o1 = first(a1, b1, i + kF);
    const vf p0 = second(a0, b0, i), p1 = second(a1, b1, i + kF);
    io.store2(x1 + i, o0, o1);
    io.store2(x2 + i, p0, p1);
  }
  for (; i < n; i += kF) {
    const int rest = static_cast<int>(n - i < kF ? n - i : kF);
    io.template prefetch<kPrefetch>(x1 + i, rest, i == 0);
    io.template prefetch<kPrefetch>(x2 + i, rest, i == 0);
    if (rest == kF) {
      const vf a = io.load(x1 + i), b = io.load(x2 + i);
      const vf o = first(a, b, i), p = second(a, b, i);
      io.store(x1 + i, o);
      io.store(x2 + i, p);
    } else if constexpr (kVectorTail<S, D>) {
      const vf a = io.load_partial(x1 + i, rest), b = io.load_partial(x2 + i, rest);
      const vf o = first(a, b, i), p = second(a, b, i);
      io.store_partial(x1 + i, o, rest);
      io.store_partial(x2 + i, p, rest);
    } else {
      // The vector lanes' operations, one element at a time.
      for (std::int64_t k = i; k < n; ++k) {
        const float a = io.load_one(x1 + k), b = io.load_one(x2 + k);
        io.store_one(x1 + k, r * __builtin_fmaf(a, w.ac[k], -(b * w.bs[k])));
        io.store_one(x2 + k, r * __builtin_fmaf(b, w.bc[k], a * w.as[k]));
      }
    }
  }
}

// The rotation of one normalised interleaved head: channels [x, x +
// channels); `first` when x starts the head's span.
template <bool kPrefetch, class IO>
ROPEKIT_INLINE inline void rotate_normalised_interleaved(const IO& io, std::int64_t x,
                                                         std::int64_t channels,
                                                         const WeightedAngles& w, float r,
                                                         bool first) {
  using S = std::remove_cv_t<std::remove_pointer_t<decltype(io.src)>>;
  using D = std::remove_pointer_t<decltype(io.dst)>;
  using vf = typename ops::vf;
  constexpr std::int64_t kF = ops::kF;
  const vf rv = ops::set1(r);
  const auto rotated = [&](vf v, std::int64_t i) {
    return ops::mul(rv, ops::fmadd(v, ops::load(w.ac + i), ops::mul(ops::swap_pairs(v), ops::load(w.bs + i))));
  };
  std::int64_t i = 0;
  for (; i + 2 * kF <= channels; i += 2 * kF) {
    io.template prefetch<kPrefetch>(x + i, 2 * kF, first && i == 0);
    const vf v0 = io.load(x + i), v1 = io.load(x + i + kF);
    io.store2(x + i, rotated(v0, i), rotated(v1, i + kF));
  }
  for (; i < channels; i += kF) {
    const int rest = static_cast<int>(channels - i < kF ? channels - i : kF);
    io.template prefetch<kPrefetch>(x + i, rest, first && i == 0);
    if (rest == kF) {
      io.store(x + i, rotated(io.load(x + i), i));
    } else if constexpr (kVectorTail<S, D>) {
      io.store_partial(x + i, rotated(io.load_partial(x + i, rest), i), rest);
    } else {
      for (std::int64_t k = i; k < channels; k += 2) {
        const float a = io.load_one(x + k), b = io.load_one(x + k + 1);
        io.store_one(x + k, r * __builtin_fmaf(a, w.ac[k], b * w.bs[k]));
        io.store_one(x + k + 1, r * __builtin_fmaf(b, w.ac[k + 1], a * w.bs[k + 1]));
      }
    }
  }
}

// Heads [h0, h1) of a normalising stream for token t, pairs [j0, j0 + n),
// with their norm factors (factors[h - h0], taken from the input before any
// of it is written). The channels that do not rotate are normalised with the
// first block, the rotated ones rotated with the weights folded into cos/sin.
template <Layout L, bool kPrefetch, class Stream>
inline void process_normalised(const Geometry& g, const Stream& st, std::int64_t t, std::int64_t j0,
                               std::int64_t n, const float* c, const float* s, const float* c2,
                               const float* s2, std::int64_t h0, std::int64_t h1,
                               const float* factors) {
  WeightedAngles weighted;
  const std::int64_t x = g.offset + 2 * j0;  // interleaved
  if constexpr (L == Layout::half_split) {
    for_each_half_split_run(g, j0, n, [&](std::int64_t x1, std::int64_t i, std::int64_t count) {
      weigh_half_split(st.norm, x1, x1 + g.half, count, c + i, s + i, weighted, i);
    });
  } else {
    weigh_interleaved(st.norm, x, 2 * n, c2, s2, weighted);
  }
  for (std::int64_t h = h0; h < h1; ++h) {
    auto io = head_io(st, t, h);
    io.r = factors[h - h0];
    if (j0 == 0) copy_pass_through<L>(g, io);
    using S = std::remove_cv_t<std::remove_pointer_t<decltype(io.src)>>;
    using D = std::remove_pointer_t<decltype(io.dst)>;
    const HeadIO<S, D, false> raw{io.src, io.dst, io.src_next_token, io.src_scale, io.dst_scale,
                                  1.0f, nullptr, 0.0f};
    if constexpr (L == Layout::half_split) {
      for_each_half_split_run(g, j0, n, [&](std::int64_t x1, std::int64_t i, std::int64_t count) {
        rotate_normalised_half_split<kPrefetch>(raw, x1, x1 + g.half, count, weighted, i, io.r);
      });
    } else {
      rotate_normalised_interleaved<kPrefetch>(raw, x, 2 * n, weighted, io.r, j0 == 0);
    }
  }
}

// Every head of a normalising stream for token t when one block holds all
// its pairs: chunk by chunk, the factors, then the rotation.
template <Layout L, bool kPrefetch, class Stream>
inline void process_normalised_heads(const Geometry& g, const Stream& st, std::int64_t t,
                                     std::int64_t n, const float* c, const float* s,
                                     const float* c2, const float* s2) {
  float factors[kNormFactorBatch];
  for (std::int64_t h0 = 0; h0 < st.src.heads(); h0 += kNormFactorBatch) {
    const std::int64_t h1 =
        h0 + kNormFactorBatch < st.src.heads() ? h0 + kNormFactorBatch : st.src.heads();
    norm_factors(g, st, t, h0, h1, factors);
    process_normalised<L, kPrefetch>(g, st, t, 0, n, c, s, c2, s2, h0, h1, factors);
  }
}

// Defined in kernel-inl.hpp, after this file.
template <Layout L, bool kPrefetch, class Stream>
inline void process(const Geometry& g, const Stream& st, std::int64_t t, std::int64_t j0,
                    std::int64_t n, const float* c, const float* s, const float* c2,
                    const float* s2);

// One stream, token t, block [j0, j0 + n), heads [h0, h0 + kNormHeadChunk)
// of a job that keeps norm factors across blocks: a normalising stream takes
// the chunk's factors with the first block, before writing any of it.
template <Layout L, bool kPrefetch, class Stream>
inline void process_chunk(const Geometry& g, const Stream& st, std::int64_t t, std::int64_t j0,
                          std::int64_t n, const BlockAngles<L>& a, std::int64_t h0,
                          float* factors) {
  if constexpr (Stream::normalises && Stream::rotates) {
    const std::int64_t h1 =
        h0 + kNormHeadChunk < st.src.heads() ? h0 + kNormHeadChunk : st.src.heads();
    if (j0 == 0) norm_factors(g, st, t, h0, h1, factors);
    if (h0 < h1)
      process_normalised<L, kPrefetch>(g, st, t, j0, n, a.c, a.s, a.c2, a.s2, h0, h1, factors);
  } else if (h0 == 0) {
    process<L, kPrefetch>(g, st, t, j0, n, a.c, a.s, a.c2, a.s2);
  }
}

// Tokens [begin, end) of a job with a normalising stream whose heads rotate
// in more than one block of pairs (rotary_dim > 2 * kPairBlock): chunks of
// heads run through every block, so that each head's factor comes from its
// input before any of it is written. Angles are formed once per chunk: once
// per token unless a stream has more than kNormHeadChunk heads.
template <Layout L, bool kPrefetch, class... Streams>
inline void run_tokens_normalised(const Job<Streams...>& job, std::int64_t begin,
                                  std::int64_t end) {
  const Geometry& g = job.geometry;
  std::int64_t heads = 0;
  std::apply([&](const auto&... st) { ((heads = st.src.heads() > heads ? st.src.heads() : heads), ...); },
             job.streams);
  BlockAngles<L> angles;
  float factors[sizeof...(Streams)][kNormHeadChunk];
  for (std::int64_t t = begin; t < end; ++t) {
    double position_by_axis[Positions::kMaxAxes];
    token_positions(job.positions, t, position_by_axis);
    for (std::int64_t h0 = 0; h0 < heads; h0 += kNormHeadChunk) {
      for (std::int64_t j0 = 0; j0 < g.pairs; j0 += kPairBlock) {
        const std::int64_t n = g.pairs - j0 < kPairBlock ? g.pairs - j0 : kPairBlock;
        angles.form(job, t, position_by_axis, j0, n);
        std::apply(
            [&](const auto&... st) {
              std::size_t i = 0;
              ((process_chunk<L, kPrefetch>(g, st, t, j0, n, angles, h0, factors[i]), ++i), ...);
            },
            job.streams);
      }
    }
  }
}
