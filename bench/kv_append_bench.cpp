// SPDX-License-Identifier: Apache-2.0
// The fused KV-cache append on the Llama-3-8B shape (32 q heads, 8 KV heads,
// head_dim 128; NHD cache, page_size 16): append_kv rotates q in place and
// writes k rotated and v into a bfloat16 or FP8 (E4M3, per-tensor scale)
// cache in one pass. Cases:
//   ropekit_fused/llama3_8b/<phase><tokens>/<src dtype>/<layout>/kv_append_<cache>
// Decode tokens are batch entries, one per sequence, each at row
// 100000 % 16 of its own page; prefill tokens fill consecutive slots.
//
// Counters, from alternating rounds of three functions on the same buffers
// (best of each; see rope_bench.cpp for why):
//   roofline_ratio      a pass over the operation's own bytes (read q, k,
//                       v; write q in place and k, v into the same cache
//                       slots: every element times a runtime 1.0, stored
//                       in the destination's type, FP8 included) over the
//                       fused call's time;
//   speedup_vs_unfused  the same work as separate ropekit calls and a copy
//                       (q rotated in place; k copied, rotated in place,
//                       converted into the cache; v converted into the
//                       cache) over the fused call's time;
//   unfused_bytes_ratio the bytes the unfused sequence moves over the fused
//                       call's: the most fusing can gain where both run at
//                       the memory roof. q, rotated in place either way,
//                       is most of the bytes (32 q heads to 8 KV heads), so
//                       this is about 1.33-1.38 here.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "bench_support.hpp"

namespace bench {
namespace {

constexpr std::int64_t kPageSize = 16;
constexpr std::int64_t kDecodeAt = 100000;
constexpr float kFp8Scale = 0.0125f;  // |k|, |v| < 1: codes up to 80 of E4M3's 448

struct Phase {
  const char* name;
  std::int64_t tokens;
  bool decode() const { return std::string(name) == "decode"; }
};

// One case's buffers: sources, a copy target for the unfused k, and the
// caches, sized for the case's slots.
template <class S, class C>
struct KvBuffers {
  static constexpr std::int64_t kQHeads = 32, kKvHeads = 8, kDim = 128;
  static constexpr std::int64_t kRow = kKvHeads * kDim;  // one slot of one cache

  explicit KvBuffers(const Phase& phase)
      : tokens(phase.tokens),
        // Decode: token i at row r of page i; prefill: slot i.
        first_row(phase.decode() ? kDecodeAt % kPageSize : 0),
        slot_step(phase.decode() ? kPageSize : 1),
        pages(phase.decode() ? tokens : (tokens + kPageSize - 1) / kPageSize),
        q(static_cast<std::size_t>(tokens * kQHeads * kDim)),
        k(static_cast<std::size_t>(tokens * kRow)),
        v(k.size()),
        k_copy(k.size()),
        k_cache(static_cast<std::size_t>(pages * kPageSize * kRow)),
        v_cache(k_cache.size()) {
    std::mt19937 engine(11);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (auto* x : {&q, &k, &v})
      for (auto& e : *x) e = S(dist(engine));
    for (std::int64_t t = 0; t < tokens; ++t) slots.push_back(first_row + t * slot_step);
  }

  ropekit::PagedKvCache<C> cache() {
    ropekit::PagedKvCache<C> c(k_cache.data(), v_cache.data(), pages, kPageSize, kKvHeads, kDim);
    if constexpr (ropekit::is_fp8_v<C>)
      return c.with_scales(kFp8Scale, kFp8Scale);
    else
      return c;
  }
  // The case's slots of one cache as a view (regular: one slot every
  // slot_step rows), for the unfused sequence's convert calls.
  ropekit::HeadView<C> slot_view(LineVector<C>& cache_buffer) {
    ropekit::HeadView<C> view(cache_buffer.data() + first_row * kRow, tokens, kKvHeads, kDim,
                              slot_step * kRow, kDim);
    if constexpr (ropekit::is_fp8_v<C>)
      return view.with_scale(kFp8Scale);
    else
      return view;
  }
  // Bytes the operation reads and writes: q read and written, k and v read,
  // their slots written.
  double bytes() const {
    return static_cast<double>(2 * q.size() * sizeof(S) + 2 * k.size() * sizeof(S) +
                               2 * k.size() * sizeof(C));
  }

  // The unfused sequence's: q read and written; k read and written by the
  // copy, read and written by the rotation, read by the conversion; v read
  // once; both caches' slots written.
  double unfused_bytes() const {
    return static_cast<double>(2 * q.size() * sizeof(S) + 6 * k.size() * sizeof(S) +
                               2 * k.size() * sizeof(C));
  }

  std::int64_t tokens, first_row, slot_step, pages;
  LineVector<S> q, k, v, k_copy;
  LineVector<C> k_cache, v_cache;
  std::vector<std::int64_t> slots;
};

// Allocated and filled once per (types, phase), shared by the case's runs
// and by both layouts.
template <class S, class C>
KvBuffers<S, C>& kv_buffers(const Phase& phase) {
  static std::map<std::string, std::unique_ptr<KvBuffers<S, C>>> registry;
  auto& slot = registry[phase.name + std::to_string(phase.tokens)];
  if (!slot) slot = std::make_unique<KvBuffers<S, C>>(phase);
  return *slot;
}

template <class S, ropekit::Layout L, class C>
void kv_append_case(benchmark::State& state, Phase phase) {
  using B = KvBuffers<S, C>;
  B& b = kv_buffers<S, C>(phase);
  const ropekit::Rope<ropekit::scaling::Default, L> rope(ropekit::RotaryDims(B::kDim),
                                                         ropekit::scaling::Default(500000.0));
  const auto q = ropekit::token_major_view(b.q.data(), b.tokens, B::kQHeads, B::kDim);
  const auto k = ropekit::token_major_view(b.k.data(), b.tokens, B::kKvHeads, B::kDim);
  const auto v = ropekit::token_major_view(b.v.data(), b.tokens, B::kKvHeads, B::kDim);
  const auto k_copy = ropekit::token_major_view(b.k_copy.data(), b.tokens, B::kKvHeads, B::kDim);
  const auto cache = b.cache();
  const auto slots = ropekit::KvSlots::slot_mapping(b.slots.data(), b.tokens);
  const auto positions = ropekit::Positions::starting_at(phase.decode() ? kDecodeAt : 0);
  const auto k_slots = b.slot_view(b.k_cache);
  const auto v_slots = b.slot_view(b.v_cache);
  const float one = runtime_one();

  const auto fused = [&] { ropekit::append_kv(rope, q, k, v, cache, slots, positions); };
  const auto unfused = [&] {
    rope.apply_q(q, positions);
    std::memcpy(b.k_copy.data(), b.k.data(), b.k.size() * sizeof(S));
    rope.apply_k(k_copy, positions);
    ropekit::convert(k_copy, k_slots);
    ropekit::convert(v, v_slots);
  };
  const auto pass = [&] {
    scale(b.q.data(), static_cast<std::int64_t>(b.q.size()), one);
    for (std::int64_t t = 0; t < b.tokens; ++t) {
      const std::int64_t at = b.slots[static_cast<std::size_t>(t)] * B::kRow;
      scale_into(b.k.data() + t * B::kRow, b.k_cache.data() + at, B::kRow, one);
      scale_into(b.v.data() + t * B::kRow, b.v_cache.data() + at, B::kRow, one);
    }
  };

  state.SetLabel(ropekit::isa_name(ropekit::active_isa()));
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  for (auto _ : state) {
    fused();
    benchmark::ClobberMemory();
  }
  const double seconds = std::chrono::duration<double>(clock::now() - start).count();
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["bytes_per_second"] = iterations * b.bytes() / seconds;
  state.counters["tokens/s"] = iterations * static_cast<double>(b.tokens) / seconds;

  // Alternating rounds of the three, best of each.
  double best_fused = 1e30, best_pass = 1e30, best_unfused = 1e30;
  const RatioRounds rounds = ratio_rounds();
  for (int round = 0; round < rounds.rounds; ++round) {
    best_pass = std::min(best_pass, seconds_per_call(pass, rounds.seconds));
    best_fused = std::min(best_fused, seconds_per_call(fused, rounds.seconds));
    best_unfused = std::min(best_unfused, seconds_per_call(unfused, rounds.seconds));
  }
  state.counters["roofline_ratio"] = best_pass / best_fused;
  state.counters["speedup_vs_unfused"] = best_unfused / best_fused;
  state.counters["unfused_bytes_ratio"] = b.unfused_bytes() / b.bytes();
}

template <class S, class C>
void register_source(const Phase& phase, const char* cache_name) {
  const std::string base = std::string("ropekit_fused/llama3_8b/") + phase.name +
                           std::to_string(phase.tokens) + "/" + ropekit::storage_name<S>();
  const std::string op = std::string("/kv_append_") + cache_name;
  benchmark::RegisterBenchmark((base + "/neox" + op).c_str(), kv_append_case<S, ropekit::neox, C>,
                               phase);
  benchmark::RegisterBenchmark((base + "/gptj" + op).c_str(), kv_append_case<S, ropekit::gptj, C>,
                               phase);
}

}  // namespace

void register_kv_append_benchmarks() {
  for (const Phase& phase : {Phase{"decode", 1}, Phase{"decode", 64}, Phase{"prefill", 4096}}) {
    register_source<float, Eigen::bfloat16>(phase, "bf16");
    register_source<float, ropekit::float8_e4m3fn>(phase, "fp8");
    register_source<Eigen::bfloat16, Eigen::bfloat16>(phase, "bf16");
    register_source<Eigen::bfloat16, ropekit::float8_e4m3fn>(phase, "fp8");
  }
}

}  // namespace bench
