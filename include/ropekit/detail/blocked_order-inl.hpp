// SPDX-License-Identifier: Apache-2.0
// The blocked visit order of kernel-inl.hpp (included from there, inside an
// ISA namespace and its target region; no include guard, on purpose): which
// streams go head by head and which a column of pairs across all heads at a
// time, and the blocked loops.

// Blocked visit order for in-place streams: one column of pairs across all
// heads at a time, cos/sin held in registers. Head by head instead is
// sequential for the prefetchers, cos/sin reloaded from L1. In cache
// (decode) blocked wins everywhere measured (Zen 1 and an Emerald Rapids
// Xeon: head by head loses up to a quarter). Streaming from memory
// (roofline_ratio, Llama-3-8B prefill 4096, one thread):
// - AVX2 path, Zen 1 (16K tokens): head by head float half-split 0.89
//   against 0.82 blocked, interleaved half ~10% faster head by head. On
//   the Xeon the AVX2 path prefers blocked (3 runs each, head by head /
//   blocked: float interleaved 0.99 / 1.11, half interleaved 0.66 / 0.72,
//   float half-split 1.07 / 1.10); kept as measured on Zen 1.
// - AVX-512 path, the same Xeon: interleaved float and bfloat16 go blocked
//   (0.98 against 0.91 head by head, 1.03 / 0.97); half interleaved (0.76
//   / 0.79) and float half-split (0.90 / 0.91) stay head by head.
// FP8, out-of-place and normalising streams always go head by head.
template <class Stream, bool kPrefetch, Layout L>
constexpr bool head_major() {
  using S = source_t<Stream>;
  if constexpr (!Stream::in_place || Stream::normalises || is_fp8_v<S>) return true;
  if constexpr (!kPrefetch) return false;
  if constexpr (ops::kF == 16 && L == Layout::interleaved)  // the AVX-512 path
    return std::is_same_v<S, Eigen::half>;
  return sizeof(S) == 4 || L == Layout::interleaved;
}

template <bool kPrefetch, class T>
inline void blocked_half_split(const HeadView<T>& view, std::int64_t token, std::int64_t x1,
                               std::int64_t half, std::int64_t n, const float* c, const float* s) {
  using vf = typename ops::vf;
  constexpr std::int64_t kF = ops::kF;
  // Locals, not view members: the vector stores may alias anything, and
  // reloading the view's fields after each store serialises the heads.
  T* const base = view.head(token, 0) + x1;
  const std::int64_t stride = view.head_stride();
  const std::int64_t next_token = view.token_stride();
  const std::int64_t heads = view.heads();
  std::int64_t i = 0;
  for (; i + 2 * kF <= n; i += 2 * kF) {
    const vf c0 = ops::load(c + i), c1 = ops::load(c + i + kF);
    const vf s0 = ops::load(s + i), s1 = ops::load(s + i + kF);
    T* a = base + i;
    for (std::int64_t h = heads; h > 0; --h, a += stride) {
      T* b = a + half;
      if constexpr (kPrefetch) {
        prefetch_lines(a + next_token, 2 * kF, i == 0);
        prefetch_lines(b + next_token, 2 * kF, i == 0);
      }
      const vf a0 = ops::load(a), a1 = ops::load(a + kF);
      const vf b0 = ops::load(b), b1 = ops::load(b + kF);
      store_pair(a, ops::fmsub(a0, c0, ops::mul(b0, s0)), ops::fmsub(a1, c1, ops::mul(b1, s1)));
      store_pair(b, ops::fmadd(b0, c0, ops::mul(a0, s0)), ops::fmadd(b1, c1, ops::mul(a1, s1)));
    }
  }
  if (i == n) return;
  // The rest column by column, head by head, through the head routine.
  for (std::int64_t h = 0; h < heads; ++h) {
    T* head = base + h * stride;
    const HeadIO<T, T, false> io{head, head, next_token, 1.0f, 1.0f, 1.0f, nullptr, 0.0f};
    rotate_head_half_split<kPrefetch>(io, i, i + half, n - i, c + i, s + i);
  }
}

template <bool kPrefetch, class T>
inline void blocked_interleaved(const HeadView<T>& view, std::int64_t token, std::int64_t x,
                                std::int64_t channels, const float* c2, const float* s2,
                                bool first) {
  using vf = typename ops::vf;
  constexpr std::int64_t kF = ops::kF;
  T* const base = view.head(token, 0) + x;
  const std::int64_t stride = view.head_stride();
  const std::int64_t next_token = view.token_stride();
  const std::int64_t heads = view.heads();
  std::int64_t i = 0;
  for (; i + 2 * kF <= channels; i += 2 * kF) {
    const vf c0 = ops::load(c2 + i), c1 = ops::load(c2 + i + kF);
    const vf s0 = ops::load(s2 + i), s1 = ops::load(s2 + i + kF);
    T* a = base + i;
    for (std::int64_t h = heads; h > 0; --h, a += stride) {
      if constexpr (kPrefetch) prefetch_lines(a + next_token, 2 * kF, first && i == 0);
      const vf a0 = ops::load(a), a1 = ops::load(a + kF);
      store_pair(a, ops::fmadd(a0, c0, ops::mul(ops::swap_pairs(a0), s0)),
                  ops::fmadd(a1, c1, ops::mul(ops::swap_pairs(a1), s1)));
    }
  }
  if (i == channels) return;
  for (std::int64_t h = 0; h < heads; ++h) {
    T* head = base + h * stride;
    const HeadIO<T, T, false> io{head, head, next_token, 1.0f, 1.0f, 1.0f, nullptr, 0.0f};
    rotate_head_interleaved<kPrefetch>(io, i, channels - i, c2 + i, s2 + i, first && i == 0);
  }
}

template <bool kPrefetch, class T, class O = ops>
inline void blocked_words(const HeadView<T>& view, std::int64_t token, std::int64_t x,
                          std::int64_t n, const float* c, const float* s) {
  for (std::int64_t i = 0; i < n; i += O::kF) {
    const typename O::vf cv = O::load(c + i), sv = O::load(s + i);
    T* at = view.head(token, 0) + x + 2 * i;
    const std::int64_t stride = view.head_stride();
    const std::int64_t next_token = view.token_stride();
    for (std::int64_t h = view.heads(); h > 0; --h, at += stride) {
      if constexpr (kPrefetch) prefetch_lines(at + next_token, 2 * O::kF, i == 0);
      const typename O::vi words = O::load_words(at);
      const typename O::vf even = O::low_halves(words), odd = O::high_halves(words);
      O::store_words(at, O::fmsub(even, cv, O::mul(odd, sv)),
                       O::fmadd(odd, cv, O::mul(even, sv)));
    }
  }
}
