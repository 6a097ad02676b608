// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the benchmarks: model shapes, the buffers every case of a
// (shape, tokens, dtype) runs over, and the two memory baselines (an
// in-place streaming pass and a memcpy of the same bytes).
#ifndef ROPEKIT_BENCH_SUPPORT_HPP
#define ROPEKIT_BENCH_SUPPORT_HPP

#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <ropekit/ropekit.hpp>

// ropekit's internal macros (kernel paths, target regions) for this file.
#include <ropekit/detail/macros_begin.inl>


namespace bench {

struct Shape {
  const char* name;
  std::int64_t q_heads, kv_heads, head_dim, rotary_dim;
  double base;
};

// Attention shapes of real models (heads, KV heads, head_dim, rotary width).
inline const Shape kShapes[] = {
    {"llama3_8b", 32, 8, 128, 128, 500000.0},
    {"qwen25_7b", 28, 4, 128, 128, 1000000.0},
    {"phi3_mini", 32, 32, 96, 96, 10000.0},
    {"gpt_neox_20b", 64, 64, 96, 24, 10000.0},
};

// Benchmark buffers start on a cache line, as engines allocate tensors
// (PyTorch's CPU allocator and ggml align them to 64 bytes). Left to the
// heap, their offset from a line depended on what the run had allocated
// before, and Llama-3-8B decode 1 float measured 0.70 of the pass in one
// filtered run and 0.54 in the full one; aligned, 0.54 in both (the
// misaligned pass's split loads had cost it more than the rotation).
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kLine{64};
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kLine)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kLine); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const CacheLineAllocator<U>&) const noexcept { return false; }
};
template <class T>
using LineVector = std::vector<T, CacheLineAllocator<T>>;

// q and k of one (shape, tokens, dtype), plus a memcpy target; allocated
// once and shared by every case so that all ratios refer to the same memory.
template <class T>
struct Buffers {
  Buffers(const Shape& shape, std::int64_t tokens)
      : q(static_cast<std::size_t>(tokens * shape.q_heads * shape.head_dim)),
        k(static_cast<std::size_t>(tokens * shape.kv_heads * shape.head_dim)) {
    std::mt19937 engine(7);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (auto& x : q) x = T(dist(engine));
    for (auto& x : k) x = T(dist(engine));
  }
  std::size_t bytes() const { return (q.size() + k.size()) * sizeof(T); }
  LineVector<T>& copy_target() {
    if (target.empty()) target.resize(q.size() + k.size());
    return target;
  }
  LineVector<T> q, k, target;
};

template <class T>
Buffers<T>& buffers(const Shape& shape, std::int64_t tokens) {
  static std::map<std::pair<std::string, std::int64_t>, std::unique_ptr<Buffers<T>>> registry;
  auto& slot = registry[{shape.name, tokens}];
  if (!slot) slot = std::make_unique<Buffers<T>>(shape, tokens);
  return *slot;
}

// Whether any element is a subnormal float. Arithmetic on subnormals takes
// microcode assists on x86 (~100x an element); on infinities and NaNs it
// does not. A case that calls an operation over and over on the same
// buffers must not drive them there (repeated QK-norms with fixed weights
// did, and the cases after it on the same buffers measured the data).
template <class T>
bool any_subnormal(const LineVector<T>& x) {
  for (const T& e : x)
    if (std::fpclassify(static_cast<float>(e)) == FP_SUBNORMAL) return true;
  return false;
}

// Marks the case as failed when it left subnormals in its buffers.
template <class T>
void require_no_subnormals(benchmark::State& state, const Buffers<T>& b) {
  if (any_subnormal(b.q) || any_subnormal(b.k))
    state.SkipWithError("subnormal floats in the buffers: the figures would measure the data");
}

// Seconds per call of f, timed over at least `min_seconds`.
template <class F>
double seconds_per_call(F&& f, double min_seconds = 0.02) {
  using clock = std::chrono::steady_clock;
  f();  // warm up (page faults, caches)
  std::int64_t calls = 0;
  const auto start = clock::now();
  double elapsed = 0;
  do {
    f();
    ++calls;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < min_seconds);
  return elapsed / static_cast<double>(calls);
}

// The alternating rounds behind every ratio counter: nine of at least 4 ms
// per side, best of each. A run with --benchmark_min_time below 4 ms (the
// JSON smoke test) takes one round of that time: it checks that the
// counters exist, not what they measure.
struct RatioRounds {
  int rounds = 9;
  double seconds = 0.004;
};
inline RatioRounds& ratio_rounds() {
  static RatioRounds rounds;
  return rounds;
}
inline void ratio_rounds_from_arguments(int argc, char** argv) {
  constexpr const char kFlag[] = "--benchmark_min_time=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], kFlag, sizeof(kFlag) - 1) == 0) {
      const double min_time = std::strtod(argv[i] + sizeof(kFlag) - 1, nullptr);
      if (min_time > 0 && min_time < ratio_rounds().seconds) ratio_rounds() = {1, min_time};
    }
}

// The memory roofline of an in-place rotation: every element loaded,
// multiplied by a runtime 1.0 and stored back, on the same vector path as
// the rotation and with the same conversions (half and bfloat16 round to
// nearest even on store, as any writer of x * one must).
#if ROPEKIT_COMPILE_AVX2
ROPEKIT_TARGET_PUSH_AVX2
namespace avx2 {
using ops = ropekit::detail::ROPEKIT_TU_NAMESPACE::avx2::ops;
using ropekit::detail::ROPEKIT_TU_NAMESPACE::avx2::store_pair;
#include "scale_pass-inl.hpp"
}  // namespace avx2
ROPEKIT_TARGET_POP
#endif

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#if ROPEKIT_COMPILE_AVX512
ROPEKIT_TARGET_PUSH_AVX512
namespace avx512 {
using ops = ropekit::detail::ROPEKIT_TU_NAMESPACE::avx512::ops;
using ropekit::detail::ROPEKIT_TU_NAMESPACE::avx512::store_pair;
#include "scale_pass-inl.hpp"
}  // namespace avx512
ROPEKIT_TARGET_POP
#endif
#if ROPEKIT_COMPILE_AVX512_BF16
ROPEKIT_TARGET_PUSH_AVX512_BF16
namespace avx512_bf16 {
using ops = ropekit::detail::ROPEKIT_TU_NAMESPACE::avx512_bf16::ops;
using ropekit::detail::ROPEKIT_TU_NAMESPACE::avx512_bf16::store_pair;
#include "scale_pass-inl.hpp"
}  // namespace avx512_bf16
ROPEKIT_TARGET_POP
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#if ROPEKIT_COMPILE_NEON
namespace neon {
using ops = ropekit::detail::ROPEKIT_TU_NAMESPACE::neon::ops;
using ropekit::detail::ROPEKIT_TU_NAMESPACE::neon::store_pair;
#include "scale_pass-inl.hpp"
}  // namespace neon
#endif

// dst[i] = D(src[i] * one) (dst may be src) on the path ropekit's calls
// take, rounding as ropekit stores D (FP8: the saturating conversion).
template <class S, class D>
void scale_into(const S* src, D* dst, std::int64_t n, float one) {
  switch (ropekit::active_isa()) {
#if ROPEKIT_COMPILE_AVX512_BF16
    case ropekit::Isa::avx512_bf16: return avx512_bf16::scale_into(src, dst, n, one);
#endif
#if ROPEKIT_COMPILE_AVX512
    case ropekit::Isa::avx512: return avx512::scale_into(src, dst, n, one);
#endif
#if ROPEKIT_COMPILE_AVX2
    case ropekit::Isa::avx2: return avx2::scale_into(src, dst, n, one);
#endif
#if ROPEKIT_COMPILE_NEON
    case ropekit::Isa::neon: return neon::scale_into(src, dst, n, one);
#endif
    default:
      for (std::int64_t i = 0; i < n; ++i) dst[i] = D(static_cast<float>(src[i]) * one);
  }
}

template <class T>
void scale(T* x, std::int64_t n, float one) {
  scale_into(x, x, n, one);
}

template <class T>
void inplace_pass(Buffers<T>& b, float one) {
  scale(b.q.data(), static_cast<std::int64_t>(b.q.size()), one);
  scale(b.k.data(), static_cast<std::int64_t>(b.k.size()), one);
}

#ifdef _OPENMP
// The in-place pass split over `threads` threads the way parallel_apply
// splits a call: each thread takes one contiguous run of tokens of q and k.
template <class T>
void inplace_pass_threads(Buffers<T>& b, float one, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int part = 0; part < threads; ++part) {
    for (LineVector<T>* x : {&b.q, &b.k}) {
      const auto n = static_cast<std::int64_t>(x->size());
      const std::int64_t begin = n * part / threads, end = n * (part + 1) / threads;
      scale(x->data() + begin, end - begin, one);
    }
  }
}
#endif

template <class T>
void memcpy_pass(Buffers<T>& b) {
  auto& target = b.copy_target();
  std::memcpy(target.data(), b.q.data(), b.q.size() * sizeof(T));
  std::memcpy(target.data() + b.q.size(), b.k.data(), b.k.size() * sizeof(T));
}

// A runtime 1.0 the compiler cannot fold away.
inline float runtime_one() {
  static volatile float one = 1.0f;
  return one;
}

}  // namespace bench


#include <ropekit/detail/macros_end.inl>

#endif  // ROPEKIT_BENCH_SUPPORT_HPP
