// SPDX-License-Identifier: Apache-2.0
// ropekit's rotation against the memory roofline of the same buffers, for
// real model shapes, decode and prefill, every dtype, layout and policy.
//
// Case names: <impl>/<model>/<phase><tokens>/<dtype>/<layout>/<policy>
// (impl: ropekit, ropekit_omp2, ropekit_cached (cos/sin from a CosSinCache,
// Llama-3-8B only), naive_loop, eigen_array) and the baselines
// inplace_pass/<model>/<phase><tokens>/<dtype> and memcpy/... ; fused
// operations as ropekit_fused/<model>/<phase><tokens>/<dtype>/<layout>/<op>
// with `speedup_vs_unfused` (fused_norm-inl.hpp: qk_norm_rope, backward;
// kv_append_bench.cpp: kv_append_bf16, kv_append_fp8). Every
// rotation case carries `roofline_ratio`: its bytes/s over the in-place
// pass's bytes/s on the same buffers, measured in the same case in
// alternating rounds after the timed loop. Also in alternating rounds: the
// default-policy half-split float and bfloat16 cases carry
// `speedup_vs_scalar` (against the scalar reference path), every other
// policy `vs_default_policy` (the default policy's time over its own) and
// ropekit_omp2 cases `speedup_vs_1thread`, with the same threads' in-place
// pass (`pass_speedup_vs_1thread`, `roofline_ratio_same_threads`). Proportional
// RoPE on Gemma 4's full-attention shape also carries
// `vs_same_channels_partial` (a partial rotary over as many channels: its
// time over proportional's). A summary of the ratios prints on stderr at the
// end.
//
// Every case but memcpy is labelled with the kernel path in effect (the
// rotation's and the in-place pass's); naive_loop and eigen_array are
// compiled for the unit's own ISA (context `unit_isa`) and measured against
// the pass on that path. The context (JSON "context", console header, top of
// the summary) names the CPU, compiler, flags and path: see run_context.hpp.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "naive.hpp"
#include "run_context.hpp"

namespace bench {
void register_kv_append_benchmarks();  // kv_append_bench.cpp
}  // namespace bench

namespace {

using namespace bench;
using ropekit::Layout;
namespace scaling = ropekit::scaling;

constexpr std::int64_t kDecodePosition = 100000;

struct Case {
  const Shape* shape;
  std::int64_t tokens;
  const char* phase;
  std::int64_t first_position() const { return std::string(phase) == "decode" ? kDecodePosition : 0; }
  std::string suffix(const char* dtype) const {
    return std::string(shape->name) + "/" + phase + std::to_string(tokens) + "/" + dtype;
  }
};

// Pass time over rotation time on the same buffers (for the roofline: the
// rotation's bytes/s over the pass's), robust to the noise of a shared
// machine: nine short alternating rounds of each, best of each, so a burst
// of other work has to cover every round of one side to move the ratio.
template <class Rotation, class Pass>
double roofline_ratio(Rotation&& rotation, Pass&& pass) {
  double best_rotation = 1e30, best_pass = 1e30;
  const RatioRounds rounds = ratio_rounds();
  for (int round = 0; round < rounds.rounds; ++round) {
    best_pass = std::min(best_pass, seconds_per_call(pass, rounds.seconds));
    best_rotation = std::min(best_rotation, seconds_per_call(rotation, rounds.seconds));
  }
  return best_pass / best_rotation;
}

// Runs f in the timed loop and sets wall-clock bytes/s and tokens/s (also
// right for the multi-threaded cases, whose CPU time Google Benchmark would
// count for the main thread only), and roofline_ratio when `pass` is given.
template <class F, class Pass>
void timed(benchmark::State& state, F&& f, std::size_t bytes, std::int64_t tokens, Pass* pass) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  for (auto _ : state) {
    f();
    benchmark::ClobberMemory();
  }
  const double seconds = std::chrono::duration<double>(clock::now() - start).count();
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["bytes_per_second"] = iterations * 2.0 * static_cast<double>(bytes) / seconds;
  state.counters["tokens/s"] = iterations * static_cast<double>(tokens) / seconds;
  if (pass != nullptr) state.counters["roofline_ratio"] = roofline_ratio(f, *pass);
}

// The path this case's ropekit calls and in-place pass take, as its label.
void label_with_path(benchmark::State& state) {
  state.SetLabel(ropekit::isa_name(ropekit::active_isa()));
}

template <class T, Layout L, class Policy>
void ropekit_case(benchmark::State& state, Case c, Policy policy, int threads) {
  auto& b = buffers<T>(*c.shape, c.tokens);
  ropekit::Rope<Policy, L> rope(ropekit::RotaryDims(c.shape->head_dim, c.shape->rotary_dim), policy);
  const auto q = ropekit::token_major_view(b.q.data(), c.tokens, c.shape->q_heads, c.shape->head_dim);
  const auto k = ropekit::token_major_view(b.k.data(), c.tokens, c.shape->kv_heads, c.shape->head_dim);
  const auto positions = ropekit::Positions::starting_at(c.first_position());
  rope.apply(q, k, positions);  // setup: length-dependent policies settle their table
  label_with_path(state);
  const float one = runtime_one();
  auto pass = [&] { inplace_pass(b, one); };
  if (threads <= 1) {
    auto rotate = [&] { rope.apply(q, k, positions); };
    timed(state, rotate, b.bytes(), c.tokens, &pass);
    if constexpr (!std::is_same_v<Policy, scaling::Default>) {
      // Time of the default policy over this one's on the same buffers,
      // alternating rounds: what "costs the same after setup" means.
      ropekit::Rope<scaling::Default, L> default_rope(rope.dims(), scaling::Default(c.shape->base));
      state.counters["vs_default_policy"] =
          roofline_ratio(rotate, [&] { default_rope.apply(q, k, positions); });
    }
    if constexpr (std::is_same_v<Policy, scaling::Proportional>) {
      // A partial rotary over as many channels as proportional rotates: its
      // time over this one's (1.0: proportional costs what its rotated
      // channels cost; vs_default_policy is the saving over the whole head).
      const std::int64_t channels = 2 * policy.rotated_pairs(rope.dims());
      if (channels > 0) {
        const ropekit::Rope<scaling::Default, L> partial(
            ropekit::RotaryDims(c.shape->head_dim, channels), scaling::Default(c.shape->base));
        state.counters["vs_same_channels_partial"] =
            roofline_ratio(rotate, [&] { partial.apply(q, k, positions); });
      }
    }
    if constexpr (std::is_same_v<Policy, scaling::Default> && L == ropekit::neox &&
                  !std::is_same_v<T, Eigen::half>) {
      // The SIMD path's speed-up over the scalar reference, alternating rounds.
      state.counters["speedup_vs_scalar"] = roofline_ratio(rotate, [&] {
        ropekit::Isa before = ropekit::Isa::scalar;
        const bool was_forced = ropekit::forced_isa(&before);
        ropekit::force_isa(ropekit::Isa::scalar);
        rotate();
        if (was_forced) ropekit::force_isa(before);
        else ropekit::clear_forced_isa();
      });
    }
    return;
  }
  auto parallel = [&] { ropekit::parallel_apply(rope, q, k, positions, threads); };
  timed(state, parallel, b.bytes(), c.tokens, &pass);
  // The thread speed-up, alternating rounds like the roofline ratio.
  state.counters["speedup_vs_1thread"] =
      roofline_ratio(parallel, [&] { rope.apply(q, k, positions); });
#ifdef _OPENMP
  // The same threads' roofline: how far the memory system lets an in-place
  // pass scale, and how close the parallel rotation gets to it.
  auto parallel_pass = [&] { inplace_pass_threads(b, one, threads); };
  state.counters["pass_speedup_vs_1thread"] = roofline_ratio(parallel_pass, pass);
  state.counters["roofline_ratio_same_threads"] = roofline_ratio(parallel, parallel_pass);
#endif
}

// ropekit with cos/sin read from a CosSinCache row per token instead of
// formed in the call: the rotation alone, for comparison. One cache per
// shape covers every phase's positions.
template <class T, Layout L>
void cached_case(benchmark::State& state, Case c) {
  auto& b = buffers<T>(*c.shape, c.tokens);
  const ropekit::RotaryDims dims(c.shape->head_dim, c.shape->rotary_dim);
  static std::map<std::string, std::unique_ptr<ropekit::CosSinCache>> caches;
  auto& cache = caches[c.shape->name];
  if (!cache) {
    const ropekit::Rope<scaling::Default> rope(dims, scaling::Default(c.shape->base));
    cache = std::make_unique<ropekit::CosSinCache>(rope.table(), kDecodePosition + 64);
  }
  const auto q = ropekit::token_major_view(b.q.data(), c.tokens, c.shape->q_heads, c.shape->head_dim);
  const auto k = ropekit::token_major_view(b.k.data(), c.tokens, c.shape->kv_heads, c.shape->head_dim);
  const auto positions = ropekit::Positions::starting_at(c.first_position());
  const float one = runtime_one();
  auto pass = [&] { inplace_pass(b, one); };
  label_with_path(state);
  timed(state, [&] { ropekit::rotate<L>(*cache, dims, q, k, positions); }, b.bytes(), c.tokens, &pass);
}

template <class T>
void inplace_case(benchmark::State& state, Case c) {
  auto& b = buffers<T>(*c.shape, c.tokens);
  const float one = runtime_one();
  label_with_path(state);
  timed(state, [&] { inplace_pass(b, one); }, b.bytes(), c.tokens, static_cast<void (*)()>(nullptr));
}

template <class T>
void memcpy_case(benchmark::State& state, Case c) {
  auto& b = buffers<T>(*c.shape, c.tokens);
  b.copy_target();
  timed(state, [&] { memcpy_pass(b); }, b.bytes(), c.tokens, static_cast<void (*)()>(nullptr));
}

template <bool kEigen>
void naive_case(benchmark::State& state, Case c, bool interleaved) {
  auto& b = buffers<float>(*c.shape, c.tokens);
  const ropekit::Rope<scaling::Default> rope(ropekit::RotaryDims(c.shape->head_dim, c.shape->rotary_dim),
                                             scaling::Default(c.shape->base));
  const NaiveTable table(rope.inv_freq(), c.first_position(), c.tokens);
  const auto run = [&] {
    for (auto [x, heads] : {std::pair{b.q.data(), c.shape->q_heads}, std::pair{b.k.data(), c.shape->kv_heads}}) {
      if constexpr (kEigen) eigen_arrays(x, c.tokens, heads, c.shape->head_dim, interleaved, table);
      else naive_loop(x, c.tokens, heads, c.shape->head_dim, interleaved, table);
    }
  };
  const float one = runtime_one();
  auto pass = [&] { inplace_pass(b, one); };
  label_with_path(state);
  timed(state, run, b.bytes(), c.tokens, &pass);
}

// Phi-3-style LongRoPE over the shape's pairs: short factors near 1, long
// ones up to 4, switching past 4096 tokens.
scaling::LongRope bench_longrope(const Shape& shape) {
  const std::int64_t pairs = shape.rotary_dim / 2;
  scaling::LongRope::Params longrope;
  for (std::int64_t j = 0; j < pairs; ++j) {
    longrope.short_factor.push_back(1.0 + 0.02 * static_cast<double>(j));
    longrope.long_factor.push_back(1.0 + 3.0 * static_cast<double>(j) / static_cast<double>(pairs));
  }
  longrope.original_max_position_embeddings = 4096;
  longrope.max_position_embeddings = 131072;
  longrope.base = shape.base;
  return scaling::LongRope(longrope);
}

// Decode steps whose table changes every call, as a length-dependent policy
// meets them in a real decode loop: DynamicNtk past its trained length (the
// base grows with each token: a new table per step) and per-call LongRoPE
// alternating across its switch (short, long, short, ...). Each call moves
// the position on (or across the switch); `vs_default_policy` is the default
// policy's time over this one's at the same positions, alternating rounds:
// one layer per decode step, every call paying for its step's table.
// `vs_default_policy_32_layers` times a whole decode step of a 32-layer
// model instead (Llama-3-8B: the same positions rotated in 32 calls, then
// the next step), where the step's table, kept per thread, is built once.
template <class T, Layout L, class Policy>
void changing_table_case(benchmark::State& state, Case c, Policy policy, std::int64_t first,
                         bool alternate) {
  auto& b = buffers<T>(*c.shape, c.tokens);
  const ropekit::RotaryDims dims(c.shape->head_dim, c.shape->rotary_dim);
  const ropekit::Rope<Policy, L> rope(dims, policy);
  const ropekit::Rope<scaling::Default, L> default_rope(dims, scaling::Default(c.shape->base));
  const auto q = ropekit::token_major_view(b.q.data(), c.tokens, c.shape->q_heads, c.shape->head_dim);
  const auto k = ropekit::token_major_view(b.k.data(), c.tokens, c.shape->kv_heads, c.shape->head_dim);
  std::int64_t step = 0;
  const auto next_position = [&] {
    ++step;
    return alternate ? first + (step % 2) : first + step * c.tokens;
  };
  auto rotate = [&] { rope.apply(q, k, ropekit::Positions::starting_at(next_position())); };
  auto rotate_default = [&] {
    default_rope.apply(q, k, ropekit::Positions::starting_at(next_position()));
  };
  label_with_path(state);
  const float one = runtime_one();
  auto pass = [&] { inplace_pass(b, one); };
  timed(state, rotate, b.bytes(), c.tokens, &pass);
  state.counters["vs_default_policy"] = roofline_ratio(rotate, rotate_default);
  constexpr int kLayers = 32;
  const auto step_of = [&](const auto& r) {
    return [&] {
      const auto positions = ropekit::Positions::starting_at(next_position());
      for (int layer = 0; layer < kLayers; ++layer) r.apply(q, k, positions);
    };
  };
  state.counters["vs_default_policy_32_layers"] = roofline_ratio(step_of(rope), step_of(default_rope));
}

template <class T>
void register_changing_tables(const Case& c, const scaling::LongRope& longrope) {
  const std::string s = "ropekit/" + c.suffix(ropekit::storage_name<T>()) + "/neox/";
  // Past DynamicNtk's trained 8192 tokens from the first step on.
  benchmark::RegisterBenchmark((s + "dynamic_past_trained").c_str(),
                               changing_table_case<T, ropekit::neox, scaling::DynamicNtk>, c,
                               scaling::DynamicNtk(4.0, 8192, c.shape->base), std::int64_t{10000},
                               false);
  // Largest position 4095 then 4096: seq_len 4096 (short factors), 4097 (long).
  benchmark::RegisterBenchmark((s + "longrope_at_switch").c_str(),
                               changing_table_case<T, ropekit::neox, scaling::LongRope>, c, longrope,
                               std::int64_t{4096 - c.tokens}, true);
}

#include "fused_keys-inl.hpp"  // K-shift and re-table cases (uses the helpers above)
#include "fused_norm-inl.hpp"  // fused QK-norm and backward cases (uses the helpers above)

template <class F>
void for_each_policy(const Shape& shape, F&& f) {
  const std::int64_t pairs = shape.rotary_dim / 2;
  f(scaling::Default(shape.base));
  f(scaling::FixedBase(shape.base * 8.0, shape.base));
  f(scaling::Linear(4.0, shape.base));
  f(scaling::NtkAware(4.0, shape.base));
  f(scaling::DynamicNtk(4.0, 8192, shape.base));
  f(scaling::Yarn(4.0, 8192, shape.base));
  f(scaling::Llama3(8.0, 1.0, 4.0, 8192, shape.base));
  f(bench_longrope(shape));
  const std::int64_t third = 3 * pairs / 8;
  f(scaling::Mrope<>({pairs - 2 * third, third, third}, scaling::Default(shape.base)));
}

// Gemma 4's full-attention layers: global_head_dim 512, 16 query heads and
// 2 KV heads (Gemma-4-26B-A4B's num_global_key_value_heads), proportional
// RoPE with partial_rotary_factor 0.25 and rope_theta 1e6: 64 of each head's
// 256 pairs rotate, pair j being channels (j, j + 256).
const Shape kGemma4Global{"gemma4_global", 16, 2, 512, 512, 1000000.0};

template <class T>
void register_proportional(const Case& c) {
  const std::string name = "ropekit/" + c.suffix(ropekit::storage_name<T>()) + "/neox/proportional";
  benchmark::RegisterBenchmark(name.c_str(), ropekit_case<T, ropekit::neox, scaling::Proportional>, c,
                               scaling::Proportional(0.25, c.shape->base), 1);
}

template <class T>
const char* dtype_name() {
  return ropekit::storage_name<T>();
}

template <class T>
void register_group(const Case& c, bool every_policy) {
  const std::string s = c.suffix(dtype_name<T>());
  benchmark::RegisterBenchmark(("inplace_pass/" + s).c_str(), inplace_case<T>, c);
  benchmark::RegisterBenchmark(("memcpy/" + s).c_str(), memcpy_case<T>, c);
  for (Layout layout : {ropekit::neox, ropekit::gptj}) {
    const std::string l = layout == ropekit::neox ? "/neox/" : "/gptj/";
    const auto add = [&](auto policy) {
      using P = decltype(policy);
      const std::string name = "ropekit/" + s + l + P::name;
      if (layout == ropekit::neox)
        benchmark::RegisterBenchmark(name.c_str(), ropekit_case<T, ropekit::neox, P>, c, policy, 1);
      else
        benchmark::RegisterBenchmark(name.c_str(), ropekit_case<T, ropekit::gptj, P>, c, policy, 1);
    };
    if (every_policy && layout == ropekit::neox) for_each_policy(*c.shape, add);
    else add(scaling::Default(c.shape->base));
    if (std::string(c.shape->name) == "llama3_8b") {
      const std::string name = "ropekit_cached/" + s + l + "default";
      if (layout == ropekit::neox)
        benchmark::RegisterBenchmark(name.c_str(), cached_case<T, ropekit::neox>, c);
      else
        benchmark::RegisterBenchmark(name.c_str(), cached_case<T, ropekit::gptj>, c);
    }
  }
#ifdef _OPENMP
  if (std::string(c.phase) == "prefill" && std::string(c.shape->name) == "llama3_8b")
    benchmark::RegisterBenchmark(("ropekit_omp2/" + s + "/neox/default").c_str(),
                                 ropekit_case<T, ropekit::neox, scaling::Default>, c,
                                 scaling::Default(c.shape->base), 2)
        ;
#endif
  if constexpr (std::is_same_v<T, float>) {
    for (bool interleaved : {false, true}) {
      const std::string l = interleaved ? "/gptj/default" : "/neox/default";
      benchmark::RegisterBenchmark(("naive_loop/" + s + l).c_str(), naive_case<false>, c, interleaved);
      benchmark::RegisterBenchmark(("eigen_array/" + s + l).c_str(), naive_case<true>, c, interleaved);
    }
  }
}

// The run's context, one "key: value" line each, on stderr.
void print_context(const std::vector<std::pair<std::string, std::string>>& context) {
  for (const auto& [key, value] : context)
    std::fprintf(stderr, "%-24s %s\n", (key + ":").c_str(), value.c_str());
}

// Keeps every run, forwards it to the real display reporter, and prints a
// summary of roofline ratios on stderr at the end.
class SummaryReporter : public benchmark::BenchmarkReporter {
 public:
  SummaryReporter(std::unique_ptr<benchmark::BenchmarkReporter> inner,
                  std::vector<std::pair<std::string, std::string>> context)
      : inner_(std::move(inner)), context_(std::move(context)) {
    inner_->SetOutputStream(&std::cout);
    inner_->SetErrorStream(&std::cerr);
  }
  bool ReportContext(const Context& context) override { return inner_->ReportContext(context); }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const auto found = run.counters.find("roofline_ratio");
      if (found != run.counters.end() && run.run_type == Run::RT_Iteration) {
        if (ratios_.count(run.benchmark_name()) == 0) order_.push_back(run.benchmark_name());
        ratios_[run.benchmark_name()] = found->second.value;
      }
      const auto speedup = run.counters.find("speedup_vs_1thread");
      if (speedup != run.counters.end()) speedups_[run.benchmark_name()] = speedup->second.value;
      const auto pass = run.counters.find("pass_speedup_vs_1thread");
      if (pass != run.counters.end()) pass_speedups_[run.benchmark_name()] = pass->second.value;
      const auto same = run.counters.find("roofline_ratio_same_threads");
      if (same != run.counters.end()) same_threads_[run.benchmark_name()] = same->second.value;
      const auto vs_default = run.counters.find("vs_default_policy");
      if (vs_default != run.counters.end()) vs_default_[run.benchmark_name()] = vs_default->second.value;
      const auto same_channels = run.counters.find("vs_same_channels_partial");
      if (same_channels != run.counters.end()) same_channels_[run.benchmark_name()] = same_channels->second.value;
      const auto scalar = run.counters.find("speedup_vs_scalar");
      if (scalar != run.counters.end()) scalar_speedups_[run.benchmark_name()] = scalar->second.value;
      const auto unfused = run.counters.find("speedup_vs_unfused");
      if (unfused != run.counters.end()) unfused_speedups_[run.benchmark_name()] = unfused->second.value;
    }
    inner_->ReportRuns(runs);
  }
  void Finalize() override {
    inner_->Finalize();
    print_summary();
  }

 private:
  void print_summary() const {
    std::fprintf(stderr, "\n");
    print_context(context_);
    std::fprintf(stderr, "\nroofline_ratio (rotation bytes/s over the in-place pass on the same buffers)\n");
    std::fprintf(stderr, "%-44s %9s %9s %9s %9s %9s %9s %9s\n", "case", "f32 neox", "f32 gptj", "bf16 neox",
                 "f16 neox", "naive", "eigen", "cached");
    std::map<std::string, bool> seen;
    for (const std::string& name : order_) {  // registration order: models, then phases
      // ropekit/<model>/<phase>/<dtype>/<layout>/<policy>
      if (name.rfind("ropekit/", 0) != 0) continue;
      const auto parts = split(name);
      if (parts.size() != 6 || parts[5] != "default") continue;  // shapes with a default case
      const std::string key = parts[1] + "/" + parts[2];
      if (seen[key]) continue;
      seen[key] = true;
      // A ratio, or "-" for a case not run (filtered out, or not registered).
      const auto get = [&](const std::string& impl, const std::string& dtype, const std::string& layout) {
        const auto it = ratios_.find(impl + "/" + key + "/" + dtype + "/" + layout + "/default");
        char text[32] = "-";
        if (it != ratios_.end()) std::snprintf(text, sizeof text, "%.2f", it->second);
        return std::string(text);
      };
      std::fprintf(stderr, "%-44s %9s %9s %9s %9s %9s %9s %9s\n", key.c_str(),
                   get("ropekit", "f32", "neox").c_str(), get("ropekit", "f32", "gptj").c_str(),
                   get("ropekit", "bf16", "neox").c_str(), get("ropekit", "f16", "neox").c_str(),
                   get("naive_loop", "f32", "neox").c_str(), get("eigen_array", "f32", "neox").c_str(),
                   get("ropekit_cached", "f32", "neox").c_str());
    }
    std::fprintf(stderr, "\nevery policy, llama3_8b f32 neox: roofline_ratio, and speed relative to the default policy\n");
    for (const std::string& name : order_) {
      const double ratio = ratios_.at(name);
      const auto parts = split(name);
      if (parts.size() != 6 || parts[0] != "ropekit" || parts[1] != "llama3_8b" || parts[3] != "f32" ||
          parts[4] != "neox")
        continue;
      const auto measured = vs_default_.find(name);
      std::fprintf(stderr, "  %-40s %6.2f  (%.3f of the default policy's speed, alternating rounds)\n",
                   (parts[2] + " " + parts[5]).c_str(), ratio,
                   measured == vs_default_.end() ? 1.0 : measured->second);
    }
    for (const auto& [name, same] : same_channels_) {
      const auto full = vs_default_.find(name);
      std::fprintf(stderr,
                   "%s: roofline_ratio %.2f, %.2fx the whole-head default rotation's speed, %.2f of "
                   "the speed of a partial rotary over the same channels\n",
                   name.c_str(), ratios_.count(name) ? ratios_.at(name) : -1.0,
                   full == vs_default_.end() ? -1.0 : full->second, same);
    }
    for (const auto& [name, speedup] : speedups_) {
      const auto pass = pass_speedups_.find(name);
      const auto same = same_threads_.find(name);
      std::fprintf(stderr, "%s: %.2fx one thread (the in-place pass: %.2fx; %.2f of its bytes/s)\n",
                   name.c_str(), speedup, pass == pass_speedups_.end() ? -1.0 : pass->second,
                   same == same_threads_.end() ? -1.0 : same->second);
    }
    for (const std::string& name : order_) {
      const auto found = scalar_speedups_.find(name);
      if (found != scalar_speedups_.end())
        std::fprintf(stderr, "%s: %.1fx the scalar path\n", name.c_str(), found->second);
    }
    for (const std::string& name : order_) {
      const auto found = unfused_speedups_.find(name);
      if (found != unfused_speedups_.end())
        std::fprintf(stderr, "%s: %.2f of the roofline, %.2fx the unfused calls\n", name.c_str(),
                     ratios_.at(name), found->second);
    }
  }

  static std::vector<std::string> split(const std::string& name) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i)
      if (i == name.size() || name[i] == '/') {
        parts.push_back(name.substr(start, i - start));
        start = i + 1;
      }
    return parts;
  }

  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  std::vector<std::pair<std::string, std::string>> context_;
  std::map<std::string, double> ratios_, speedups_, pass_speedups_, same_threads_, scalar_speedups_,
      vs_default_, same_channels_, unfused_speedups_;
  std::vector<std::string> order_;
};

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--benchmark_format=json") == 0) json = true;
  const std::pair<const char*, std::int64_t> phases[] = {{"decode", 1},      {"decode", 8},
                                                         {"decode", 64},     {"prefill", 512},
                                                         {"prefill", 4096},  {"prefill", 16384}};
  for (const Shape& shape : kShapes)
    for (const auto& [phase, tokens] : phases) {
      const Case c{&shape, tokens, phase};
      const bool every_policy = std::string(shape.name) == "llama3_8b";
      register_group<float>(c, every_policy);
      register_group<Eigen::bfloat16>(c, false);
      register_group<Eigen::half>(c, false);
    }
  for (const std::int64_t tokens : {1, 64})
    register_changing_tables<float>(Case{&kShapes[0], tokens, "decode"}, bench_longrope(kShapes[0]));
  for (const auto& [phase, tokens] : phases) {
    const Case c{&kGemma4Global, tokens, phase};
    register_proportional<float>(c);
    register_proportional<Eigen::bfloat16>(c);
  }
  register_key_cases();
  register_norm_cases();
  register_kv_append_benchmarks();
  ratio_rounds_from_arguments(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::vector<std::pair<std::string, std::string>> context;
  try {
    context = run_context();
  } catch (const std::invalid_argument& e) {  // a forced path this CPU or build cannot run
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  if (json) print_context(context);  // the console reporter prints it itself
  for (const auto& [key, value] : context) benchmark::AddCustomContext(key, value);
  std::unique_ptr<benchmark::BenchmarkReporter> inner;
  if (json) inner = std::make_unique<benchmark::JSONReporter>();
  else inner = std::make_unique<benchmark::ConsoleReporter>();
  SummaryReporter reporter(std::move(inner), context);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
