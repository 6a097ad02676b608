// SPDX-License-Identifier: Apache-2.0
// The SIMD kernel, written once over an `ops` struct and included (no
// include guard, on purpose) inside each ISA namespace after its `ops` and
// angles-inl.hpp, and inside that ISA's target region, so every function
// here is compiled for that ISA only. Highway's "-inl.h" headers work the
// same way.
//
// Per token: cos/sin of the rotated pairs (angles-inl.hpp, or a cached row),
// then every stream of the job: each head of its source is read (widened to
// float, FP8 codes times their scale, optionally RMS-normalised), rotated
// with FMA and stored once in the destination's type.
//
// `ops` provides kF float lanes (vf), kD = kF/2 double lanes (vd), kF int32
// lanes (vi) and: load/store of float, Eigen::half, Eigen::bfloat16 and FP8
// (full and partial; the kernel uses float partials only where
// kNativeMasks); optionally store2 of two adjacent vectors of a type (the
// loops store in pairs through store_pair, so that avx512_bf16 narrows 32
// lanes to bfloat16 in one instruction); set1, add, mul, div, fmadd, fmsub,
// swap_pairs, zip on vf;
// set1_d, load_d, add_d, sub_d, mul_d, fma_d, fms_d (a*b - c), round_d on vd;
// widen_d (vf to two vd); to_float and to_int (two vd halves to one vf / vi;
// to_int takes integers below 2^51 in magnitude and keeps them mod 2^32);
// quadrant_fixup; and, where kBfloat16Words, load_words, low_halves,
// high_halves, store_words.

// While one token's cos/sin are computed the memory stream stalls; calls
// whose data cannot stay in cache therefore prefetch the next token's heads
// as they rotate this token's (on cache-resident data the prefetches only
// cost instructions, so small calls skip them). Prefetches go by cache line,
// not by vector: a 64-byte step covers two 32-byte vectors of AVX2 but only
// one of AVX-512, and prefetching one line per two AVX-512 vectors left
// every other line to the hardware (Zen 5: float prefill at 0.61 of the
// in-place pass instead of 1.07).
inline constexpr std::uintptr_t kCacheLine = 64;

// Prefetches (for writing) the cache lines that start inside [p, p + n),
// and with `first` also the line holding p: called on consecutive pieces
// of a span, first piece first, it touches every line of the span once,
// whatever the vector width and element size.
//
// Always inlined, as is HeadIO::prefetch: GCC 12 treats a function whose
// only effect is __builtin_prefetch as free of side effects and deletes the
// calls to it, so out of line no prefetch was ever issued (Llama-3-8B float
// q/k, prefill 4096, AVX-512: 0.74 of the in-place pass without, 0.94 with).
template <class T>
__attribute__((always_inline)) inline void prefetch_lines(const T* p, std::int64_t n, bool first) {
  const auto begin = reinterpret_cast<std::uintptr_t>(p);
  const auto end = reinterpret_cast<std::uintptr_t>(p + n);
  std::uintptr_t line = (begin + kCacheLine - 1) & ~(kCacheLine - 1);
  if (first && line != begin) __builtin_prefetch(p, 1, 3);
  for (; line < end; line += kCacheLine) __builtin_prefetch(reinterpret_cast<const void*>(line), 1, 3);
}

template <class T>
using value_t = std::remove_const_t<T>;

// Whether O (ops) has store2 for element type T.
template <class T, class O, class = void>
struct has_store2 : std::false_type {};
template <class T, class O>
struct has_store2<T, O,
                  std::void_t<decltype(O::store2(std::declval<T*>(), std::declval<typename O::vf>(),
                                                 std::declval<typename O::vf>()))>>
    : std::true_type {};

// Vectors a and b to p and p + kF: one store2 where ops has one for T.
template <class T, class O = ops>
__attribute__((always_inline)) inline void store_pair(T* p, typename O::vf a, typename O::vf b) {
  if constexpr (has_store2<T, O>::value) {
    O::store2(p, a, b);
  } else {
    O::store(p, a);
    O::store(p + O::kF, b);
  }
}

template <class Stream>
using source_t = typename Stream::source_value;

template <class Stream>
using destination_t = typename Stream::destination_value;

// Tails shorter than a vector. With native masks (AVX-512), and when neither
// side is float (16-bit and FP8 partial moves are a few integer loads and
// stores), they take the vector path. Other tails go element by element with
// the same float operations (a*c - b*s as fma(a, c, -(b*s)), ...), so every
// lane gets the bits the vector path would give: AVX2's masked moves are
// slow on some cores and NEON has none.
template <class S, class D>
constexpr bool kVectorTail = ops::kNativeMasks || (sizeof(S) < 4 && sizeof(D) < 4);

// One head's channels read from `src` (widened to float; FP8 codes times
// their scale; RMS-normalised with kNorm) and written to `dst` in its type
// (FP8: divided by its scale, then rounded). In place, src == dst.
template <class S, class D, bool kNorm>
struct HeadIO {
  using vf = typename ops::vf;
  const S* src;
  D* dst;
  std::int64_t src_next_token;  // to the same head of the next token, for prefetching
  float src_scale, dst_scale;   // FP8 only
  float r;                      // kNorm: 1 / sqrt(mean(x^2) + eps)
  const float* weight;          // kNorm: head_dim weights
  float weight_bias;            // kNorm: 1 for Gemma's (1 + w), else 0

  vf finish_load(vf v, std::int64_t c, int n) const {
    if constexpr (is_fp8_v<S>) v = ops::mul(v, ops::set1(src_scale));
    if constexpr (kNorm) {
      const vf w = n == ops::kF ? ops::load(weight + c) : ops::load_partial(weight + c, n);
      v = ops::mul(ops::mul(v, ops::set1(r)), ops::add(w, ops::set1(weight_bias)));
    }
    (void)c;
    (void)n;
    return v;
  }
  vf load(std::int64_t c) const { return finish_load(ops::load(src + c), c, ops::kF); }
  vf load_partial(std::int64_t c, int n) const {
    return finish_load(ops::load_partial(src + c, n), c, n);
  }
  float load_one(std::int64_t c) const {
    float v = static_cast<float>(src[c]);
    if constexpr (is_fp8_v<S>) v *= src_scale;
    if constexpr (kNorm) v = (v * r) * (weight[c] + weight_bias);
    return v;
  }
  vf to_storage(vf v) const {
    if constexpr (is_fp8_v<D>) v = ops::div(v, ops::set1(dst_scale));
    return v;
  }
  void store(std::int64_t c, vf v) const { ops::store(dst + c, to_storage(v)); }
  void store2(std::int64_t c, vf a, vf b) const { store_pair(dst + c, to_storage(a), to_storage(b)); }
  void store_partial(std::int64_t c, vf v, int n) const {
    ops::store_partial(dst + c, to_storage(v), n);
  }
  void store_one(std::int64_t c, float v) const {
    if constexpr (is_fp8_v<D>) dst[c] = D(v / dst_scale);
    else dst[c] = D(v);
  }
  template <bool kPrefetch>
  __attribute__((always_inline)) void prefetch(std::int64_t c, std::int64_t n, bool first) const {
    if constexpr (kPrefetch) prefetch_lines(src + c + src_next_token, n, first);
    (void)c;
    (void)n;
    (void)first;
  }
};

// Channels [c0, c1) copied (converted, normalised) from src to dst.
template <class IO>
inline void copy_channels(const IO& io, std::int64_t c0, std::int64_t c1) {
  using S = std::remove_cv_t<std::remove_pointer_t<decltype(io.src)>>;
  using D = std::remove_pointer_t<decltype(io.dst)>;
  std::int64_t c = c0;
  for (; c + 2 * ops::kF <= c1; c += 2 * ops::kF) io.store2(c, io.load(c), io.load(c + ops::kF));
  for (; c + ops::kF <= c1; c += ops::kF) io.store(c, io.load(c));
  if (c == c1) return;
  if constexpr (kVectorTail<S, D>) {
    const int rest = static_cast<int>(c1 - c);
    io.store_partial(c, io.load_partial(c, rest), rest);
  } else {
    for (; c < c1; ++c) io.store_one(c, io.load_one(c));
  }
}

// Half-split pairs (x1 + i, x2 + i), i in [0, n), of one head: two vectors
// at a time, then one, then the tail.
template <bool kPrefetch, class IO>
inline void rotate_head_half_split(const IO& io, std::int64_t x1, std::int64_t x2, std::int64_t n,
                                   const float* c, const float* s) {
  using S = std::remove_cv_t<std::remove_pointer_t<decltype(io.src)>>;
  using D = std::remove_pointer_t<decltype(io.dst)>;
  using vf = typename ops::vf;
  constexpr std::int64_t kF = ops::kF;
  std::int64_t i = 0;
  for (; i + 2 * kF <= n; i += 2 * kF) {
    io.template prefetch<kPrefetch>(x1 + i, 2 * kF, i == 0);
    io.template prefetch<kPrefetch>(x2 + i, 2 * kF, i == 0);
    const vf c0 = ops::load(c + i), c1 = ops::load(c + i + kF);
    const vf s0 = ops::load(s + i), s1 = ops::load(s + i + kF);
    const vf a0 = io.load(x1 + i), a1 = io.load(x1 + i + kF);
    const vf b0 = io.load(x2 + i), b1 = io.load(x2 + i + kF);
    io.store2(x1 + i, ops::fmsub(a0, c0, ops::mul(b0, s0)), ops::fmsub(a1, c1, ops::mul(b1, s1)));
    io.store2(x2 + i, ops::fmadd(b0, c0, ops::mul(a0, s0)), ops::fmadd(b1, c1, ops::mul(a1, s1)));
  }
  for (; i < n; i += kF) {
    const int rest = static_cast<int>(n - i < kF ? n - i : kF);
    io.template prefetch<kPrefetch>(x1 + i, rest, i == 0);
    io.template prefetch<kPrefetch>(x2 + i, rest, i == 0);
    const vf cv = ops::load(c + i), sv = ops::load(s + i);  // buffers are padded
    if (rest == kF) {
      const vf a = io.load(x1 + i), b = io.load(x2 + i);
      io.store(x1 + i, ops::fmsub(a, cv, ops::mul(b, sv)));
      io.store(x2 + i, ops::fmadd(b, cv, ops::mul(a, sv)));
    } else if constexpr (kVectorTail<S, D>) {
      const vf a = io.load_partial(x1 + i, rest), b = io.load_partial(x2 + i, rest);
      io.store_partial(x1 + i, ops::fmsub(a, cv, ops::mul(b, sv)), rest);
      io.store_partial(x2 + i, ops::fmadd(b, cv, ops::mul(a, sv)), rest);
    } else {
      for (std::int64_t k = i; k < n; ++k) {
        const float a = io.load_one(x1 + k), b = io.load_one(x2 + k);
        const float bs = b * s[k], as = a * s[k];
        io.store_one(x1 + k, __builtin_fmaf(a, c[k], -bs));
        io.store_one(x2 + k, __builtin_fmaf(b, c[k], as));
      }
    }
  }
}

// Interleaved channels [x, x + channels) of one head, cos/sin expanded (c2
// holds each cos twice, s2 holds (-sin, +sin), so one multiply-add with the
// pair-swapped vector rotates); `first` when x starts the head's span.
template <bool kPrefetch, class IO>
inline void rotate_head_interleaved(const IO& io, std::int64_t x, std::int64_t channels,
                                    const float* c2, const float* s2, bool first) {
  using S = std::remove_cv_t<std::remove_pointer_t<decltype(io.src)>>;
  using D = std::remove_pointer_t<decltype(io.dst)>;
  using vf = typename ops::vf;
  constexpr std::int64_t kF = ops::kF;
  std::int64_t i = 0;
  for (; i + 2 * kF <= channels; i += 2 * kF) {
    io.template prefetch<kPrefetch>(x + i, 2 * kF, first && i == 0);
    const vf a0 = io.load(x + i), a1 = io.load(x + i + kF);
    io.store2(x + i,
              ops::fmadd(a0, ops::load(c2 + i), ops::mul(ops::swap_pairs(a0), ops::load(s2 + i))),
              ops::fmadd(a1, ops::load(c2 + i + kF),
                         ops::mul(ops::swap_pairs(a1), ops::load(s2 + i + kF))));
  }
  for (; i < channels; i += kF) {
    const int rest = static_cast<int>(channels - i < kF ? channels - i : kF);
    io.template prefetch<kPrefetch>(x + i, rest, first && i == 0);
    const vf cv = ops::load(c2 + i), sv = ops::load(s2 + i);
    if (rest == kF) {
      const vf a = io.load(x + i);
      io.store(x + i, ops::fmadd(a, cv, ops::mul(ops::swap_pairs(a), sv)));
    } else if constexpr (kVectorTail<S, D>) {
      const vf a = io.load_partial(x + i, rest);
      io.store_partial(x + i, ops::fmadd(a, cv, ops::mul(ops::swap_pairs(a), sv)), rest);
    } else {
      for (std::int64_t k = i; k < channels; k += 2) {
        const float a = io.load_one(x + k), b = io.load_one(x + k + 1);
        const float bs = b * s2[k], as = a * s2[k + 1];
        io.store_one(x + k, __builtin_fmaf(a, c2[k], bs));
        io.store_one(x + k + 1, __builtin_fmaf(b, c2[k + 1], as));
      }
    }
  }
}

// Interleaved bfloat16 pairs [0, n) of one head in place, n a multiple of
// kF, through ops' 32-bit words: the same float operations as the
// interleaved rotation (so the same bits), with cos/sin per pair.
template <bool kPrefetch, class T, class O = ops>
inline void rotate_head_words(T* x, std::int64_t n, std::int64_t next_token, const float* c,
                              const float* s) {
  for (std::int64_t i = 0; i < n; i += O::kF) {
    T* at = x + 2 * i;
    if constexpr (kPrefetch) prefetch_lines(at + next_token, 2 * O::kF, i == 0);
    const typename O::vf cv = O::load(c + i), sv = O::load(s + i);
    const typename O::vi words = O::load_words(at);
    const typename O::vf even = O::low_halves(words), odd = O::high_halves(words);
    O::store_words(at, O::fmsub(even, cv, O::mul(odd, sv)), O::fmadd(odd, cv, O::mul(even, sv)));
  }
}

#include "blocked_order-inl.hpp"

// The IO of head h of token t of a stream.
template <class Stream>
inline auto head_io(const Stream& st, std::int64_t t, std::int64_t h) {
  using S = source_t<Stream>;
  using D = destination_t<Stream>;
  const S* src = st.src.head(t, h);
  D* dst;
  float dst_scale;
  if constexpr (Stream::in_place) {
    dst = const_cast<D*>(src);
    dst_scale = st.src.scale(h);
  } else {
    dst = st.dst.head(t, h);
    dst_scale = st.dst.scale(h);
  }
  return HeadIO<S, D, Stream::normalises>{src,    dst, st.src.token_stride(), st.src.scale(h),
                                          dst_scale, 1.0f, st.norm.weight,
                                          st.norm.plus_one ? 1.0f : 0.0f};
}

// Half-split pairs [j0, j0 + n) as runs that stay inside one part:
// f(x1, i, count) for pairs j0 + i .. j0 + i + count - 1, whose first
// channels start at x1 (their partners half channels on). One run unless
// the geometry has several parts (Gemma 4's vision tower).
template <class F>
inline void for_each_half_split_run(const Geometry& g, std::int64_t j0, std::int64_t n, F&& f) {
  for (std::int64_t i = 0; i < n;) {
    const std::int64_t j = j0 + i;
    const std::int64_t part = g.parts > 1 ? j / g.half : 0;
    const std::int64_t part_end = g.parts > 1 ? (part + 1) * g.half : j0 + n;
    const std::int64_t count = (part_end < j0 + n ? part_end : j0 + n) - j;
    f(g.offset + j + part * g.half, i, count);
    i += count;
  }
}

// The channels of a head that do not rotate, copied (converted, normalised).
template <Layout L, class IO>
inline void copy_pass_through(const Geometry& g, const IO& io) {
  const std::int64_t rotated_end =
      L == Layout::half_split ? g.offset + g.parts * g.half + g.pairs : g.offset + 2 * g.pairs;
  // Most heads rotate every channel: no calls for empty ranges.
  if (g.offset > 0) copy_channels(io, 0, g.offset);
  if (L == Layout::half_split && g.pairs < g.half)
    copy_channels(io, g.offset + g.pairs, g.offset + g.half);
  if (rotated_end < g.head_dim) copy_channels(io, rotated_end, g.head_dim);
}

// Normalising streams: norm factors, and the rotation with the weights
// folded into cos/sin.
#include "norm-inl.hpp"

// Whether a stream writes the channels that do not rotate.
template <class Stream>
constexpr bool kWritesPassThrough = !Stream::in_place || Stream::normalises;

// Every head of one stream for token t: pairs [j0, j0 + n) rotate (c, s; c2,
// s2 expanded for the interleaved layout); with the first block, the
// channels that do not rotate are written too where the stream needs them.
template <Layout L, bool kPrefetch, class Stream>
inline void process(const Geometry& g, const Stream& st, std::int64_t t, std::int64_t j0,
                    std::int64_t n, const float* c, const float* s, const float* c2,
                    const float* s2) {
  using S = source_t<Stream>;
  if (st.src.heads() == 0) return;  // such a view may have no memory at all
  const bool first_block = j0 == 0;
  if constexpr (!Stream::rotates) {
    if (first_block)
      for (std::int64_t h = 0; h < st.src.heads(); ++h) {
        auto io = head_io(st, t, h);
        if constexpr (Stream::normalises)
          io.r = rms_factor(sum_of_squares(io, g.head_dim), g.head_dim, st.norm.eps);
        copy_channels(io, 0, g.head_dim);
      }
    return;
  } else if constexpr (Stream::normalises) {
    process_normalised_heads<L, kPrefetch>(g, st, t, n, c, s, c2, s2);
  } else {
    constexpr bool kWords = L == Layout::interleaved && Stream::in_place && !Stream::normalises &&
                            std::is_same_v<S, Eigen::bfloat16> && ops::kBfloat16Words;
    const std::int64_t words = kWords ? n - n % ops::kF : 0;
    const std::int64_t x = g.offset + 2 * j0;  // interleaved
    if constexpr (!head_major<Stream, kPrefetch, L>()) {
      if constexpr (L == Layout::half_split) {
        for_each_half_split_run(g, j0, n, [&](std::int64_t x1, std::int64_t i, std::int64_t count) {
          blocked_half_split<kPrefetch>(st.src, t, x1, g.half, count, c + i, s + i);
        });
      } else {
        if constexpr (kWords) blocked_words<kPrefetch>(st.src, t, x, words, c, s);
        blocked_interleaved<kPrefetch>(st.src, t, x + 2 * words, 2 * (n - words), c2 + 2 * words,
                                       s2 + 2 * words, words == 0 && first_block);
      }
    } else {
      for (std::int64_t h = 0; h < st.src.heads(); ++h) {
        auto io = head_io(st, t, h);
        if constexpr (kWritesPassThrough<Stream>) {
          if (first_block) copy_pass_through<L>(g, io);
        }
        if constexpr (L == Layout::half_split) {
          for_each_half_split_run(g, j0, n, [&](std::int64_t x1, std::int64_t i, std::int64_t count) {
            rotate_head_half_split<kPrefetch>(io, x1, x1 + g.half, count, c + i, s + i);
          });
        } else {
          if constexpr (kWords)
            rotate_head_words<kPrefetch>(const_cast<S*>(io.src) + x, words, st.src.token_stride(),
                                         c, s);
          rotate_head_interleaved<kPrefetch>(io, x + 2 * words, 2 * (n - words), c2 + 2 * words,
                                             s2 + 2 * words, words == 0 && first_block);
        }
      }
    }
  }
}

// Rotates tokens [begin, end) of a validated job: per token and block of
// pairs, cos/sin from the job's rows or formed exactly here, then every
// stream.
template <Layout L, bool kPrefetch, class... Streams>
inline void run_tokens(const Job<Streams...>& job, std::int64_t begin, std::int64_t end) {
  const Geometry& g = job.geometry;
  if constexpr ((Streams::normalises || ...))
    if (g.pairs > kPairBlock) return run_tokens_normalised<L, kPrefetch>(job, begin, end);
  BlockAngles<L> angles;
  // At least one block, so that streams with no rotated pair still copy.
  const std::int64_t blocks = g.pairs == 0 ? 1 : (g.pairs + kPairBlock - 1) / kPairBlock;
  double previous[Positions::kMaxAxes] = {-1.0, -1.0, -1.0};
  for (std::int64_t t = begin; t < end; ++t) {
    double position_by_axis[Positions::kMaxAxes];
    token_positions(job.positions, t, position_by_axis);
    // A token at the previous token's positions (a K-shift by one delta,
    // repeated ids) reuses its cos/sin when one block holds every pair:
    // with few heads per token (keys alone) forming them costs about as
    // much as the rotation.
    const bool reuse = t > begin && blocks == 1 && position_by_axis[0] == previous[0] &&
                       position_by_axis[1] == previous[1] && position_by_axis[2] == previous[2];
    for (int a = 0; a < Positions::kMaxAxes; ++a) previous[a] = position_by_axis[a];
    for (std::int64_t block = 0; block < blocks; ++block) {
      const std::int64_t j0 = block * kPairBlock;
      const std::int64_t n = g.pairs - j0 < kPairBlock ? g.pairs - j0 : kPairBlock;
      if (!reuse) angles.form(job, t, position_by_axis, j0, n);
      std::apply(
          [&](const auto&... stream) {
            (process<L, kPrefetch>(g, stream, t, j0, n, angles.c, angles.s, angles.c2, angles.s2),
             ...);
          },
          job.streams);
    }
  }
}

// Double-double arithmetic (detail::dd) with FMA, for building angle tables
// in the call.
inline dd dd_mul(dd a, dd b) {
  const double p = a.hi * b.hi;
  double e = __builtin_fma(a.hi, b.hi, -p);
  e = __builtin_fma(a.hi, b.lo, __builtin_fma(a.lo, b.hi, e));
  const double hi = p + e;
  return {hi, e - (hi - p)};
}
inline void dd_mul_vectors(typename ops::vd a_hi, typename ops::vd a_lo, typename ops::vd b_hi,
                           typename ops::vd b_lo, typename ops::vd& hi, typename ops::vd& lo) {
  const typename ops::vd p = ops::mul_d(a_hi, b_hi);
  typename ops::vd e = ops::fms_d(a_hi, b_hi, p);
  e = ops::fma_d(a_hi, b_lo, ops::fma_d(a_lo, b_hi, e));
  hi = ops::add_d(p, e);
  lo = ops::sub_d(e, ops::sub_d(hi, p));
}

struct kernel {
  // Quarter turns (head, tail) of ω_j · x^(-j/k) for j < pairs, from those
  // of ω_j (q0): decode steps' dynamic-NTK tables, k < pairs <= kPairBlock,
  // for `count` states (roots[b]: x and y ≈ x^(-1/k) to double precision)
  // into head/tail + b * stride (stride >= pairs rounded up to 2·kD). The
  // states' chains run interleaved, so that a batch costs little more than
  // one state. Per state: the powers y^j in double-double lanes (two
  // interleaved chains), written to head/tail as scratch; then one Newton
  // step for the root applied to every power at once: with δ = (1 -
  // x·y^k)/k, r = y(1 + δ) and r^j = y^j (1 + jδ + j(j-1)/2 δ²) to
  // O(j³δ³), δ ~ 2^-52. Relative error ~j·2^-104, far below the long double
  // definition's own 2^-64. Inputs are ω_j <= π, so every result is below 2
  // quarter turns and needs no reduction mod 4. The arithmetic of a state
  // does not depend on the others: a state's table is the same bits in any
  // batch.
  static void geometric_quarters(const double* q0_head, const double* q0_tail, std::int64_t pairs,
                                 const StepRoot* roots, int count, std::int64_t k, double* head,
                                 double* tail, std::int64_t stride) {
    using vd = typename ops::vd;
    constexpr int kD = ops::kD;
    constexpr int kMax = kStepBatch;
    static_assert(kD >= 2, "lane 1 holds y");
    if (count > kMax) count = kMax;
    // Lanes y^i, i < kD, and the steps y^kD, y^(2·kD), per state.
    dd lane[kMax][kD];
    dd step[kMax], step2[kMax];
    for (int b = 0; b < count; ++b) {
      lane[b][0] = dd{1.0, 0.0};
      lane[b][1] = dd{roots[b].y, 0.0};
    }
    for (int i = 2; i < kD; ++i)
      for (int b = 0; b < count; ++b) lane[b][i] = dd_mul(lane[b][i / 2], lane[b][i - i / 2]);
    for (int b = 0; b < count; ++b) step[b] = dd_mul(lane[b][kD / 2], lane[b][kD - kD / 2]);
    for (int b = 0; b < count; ++b) step2[b] = dd_mul(step[b], step[b]);
    // y^j for j < pairs rounded up to 2·kD, into head/tail.
    vd even_hi[kMax], even_lo[kMax], odd_hi[kMax], odd_lo[kMax];
    for (int b = 0; b < count; ++b) {
      alignas(64) double lane_hi[kD];
      alignas(64) double lane_lo[kD];
      for (int i = 0; i < kD; ++i) {
        lane_hi[i] = lane[b][i].hi;
        lane_lo[i] = lane[b][i].lo;
      }
      even_hi[b] = ops::load_d(lane_hi);
      even_lo[b] = ops::load_d(lane_lo);
      dd_mul_vectors(even_hi[b], even_lo[b], ops::set1_d(step[b].hi), ops::set1_d(step[b].lo),
                     odd_hi[b], odd_lo[b]);
    }
    for (std::int64_t j = 0; j < pairs; j += 2 * kD) {
      for (int b = 0; b < count; ++b) {
        double* power_hi = head + b * stride;
        double* power_lo = tail + b * stride;
        const vd step2_hi = ops::set1_d(step2[b].hi), step2_lo = ops::set1_d(step2[b].lo);
        ops::store_d(power_hi + j, even_hi[b]);
        ops::store_d(power_lo + j, even_lo[b]);
        ops::store_d(power_hi + j + kD, odd_hi[b]);
        ops::store_d(power_lo + j + kD, odd_lo[b]);
        dd_mul_vectors(even_hi[b], even_lo[b], step2_hi, step2_lo, even_hi[b], even_lo[b]);
        dd_mul_vectors(odd_hi[b], odd_lo[b], step2_hi, step2_lo, odd_hi[b], odd_lo[b]);
      }
    }
    double delta[kMax];
    for (int b = 0; b < count; ++b) {
      const dd residual =
          dd_mul(roots[b].x, dd{head[b * stride + k], tail[b * stride + k]});  // x·y^k ~ 1
      delta[b] = ((1.0 - residual.hi) - residual.lo) / static_cast<double>(k);
    }
    alignas(64) double lane_index[kD];
    for (int i = 0; i < kD; ++i) lane_index[i] = static_cast<double>(i);
    const vd lanes = ops::set1_d(static_cast<double>(kD)), one = ops::set1_d(1.0);
    vd jv = ops::load_d(lane_index);
    for (std::int64_t j = 0; j < pairs; j += kD, jv = ops::add_d(jv, lanes)) {
      const vd q0_hi = ops::load_d(q0_head + j), q0_lo = ops::load_d(q0_tail + j);
      const vd jj = ops::mul_d(jv, ops::sub_d(jv, one));
      for (int b = 0; b < count; ++b) {
        double* out_hi = head + b * stride;
        double* out_lo = tail + b * stride;
        // (1 + c) y^j as a double-double, c = jδ + j(j-1)/2·δ² (|c| << 1).
        const vd d = ops::set1_d(delta[b]), half_d2 = ops::set1_d(0.5 * delta[b] * delta[b]);
        const vd c = ops::fma_d(jj, half_d2, ops::mul_d(jv, d));
        const vd p_hi = ops::load_d(out_hi + j);
        const vd t = ops::fma_d(p_hi, c, ops::load_d(out_lo + j));
        const vd r_hi = ops::add_d(p_hi, t);
        const vd r_lo = ops::sub_d(t, ops::sub_d(r_hi, p_hi));
        vd q_hi, q_lo;
        dd_mul_vectors(q0_hi, q0_lo, r_hi, r_lo, q_hi, q_lo);
        ops::store_d(out_hi + j, q_hi);
        ops::store_d(out_lo + j, q_lo);
      }
    }
  }

  // Rotates tokens [begin, end) of a validated job; calls that stream from
  // memory take the prefetching, streaming visit order.
  template <Layout L, class... Streams>
  ROPEKIT_NOINLINE static void run(const Job<Streams...>& job, std::int64_t begin,
                                   std::int64_t end) {
    if (streams_from_memory(end - begin, job.streams))
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
