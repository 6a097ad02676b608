// SPDX-License-Identifier: Apache-2.0
// Benchmarks: ropekit's rotation against the memory roofline of the same
// buffers (an in-place streaming pass and a memcpy), so every figure can be
// read as a ratio measured in one run.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include <ropekit/ropekit.hpp>

namespace {

struct Shape {
  const char* name;
  std::int64_t q_heads, kv_heads, head_dim;
};
constexpr Shape kLlama3_8b{"llama3_8b", 32, 8, 128};

template <class T>
struct Buffers {
  Buffers(const Shape& shape, std::int64_t tokens)
      : q(static_cast<std::size_t>(tokens * shape.q_heads * shape.head_dim), T(0.5f)),
        k(static_cast<std::size_t>(tokens * shape.kv_heads * shape.head_dim), T(0.25f)) {}
  std::size_t bytes() const { return (q.size() + k.size()) * sizeof(T); }
  std::vector<T> q, k;
};

// Each element read and written once.
void set_counters(benchmark::State& state, std::size_t bytes, std::int64_t tokens) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * 2 * bytes));
  state.counters["tokens/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * tokens), benchmark::Counter::kIsRate);
}

template <class T, class Policy>
void rotate_case(benchmark::State& state, Shape shape, std::int64_t tokens, Policy policy) {
  Buffers<T> buffers(shape, tokens);
  ropekit::Rope<Policy> rope(ropekit::RotaryDims(shape.head_dim), policy);
  const auto q = ropekit::token_major_view(buffers.q.data(), tokens, shape.q_heads, shape.head_dim);
  const auto k = ropekit::token_major_view(buffers.k.data(), tokens, shape.kv_heads, shape.head_dim);
  for (auto _ : state) {
    rope.apply(q, k, ropekit::Positions::starting_at(100000));
    benchmark::ClobberMemory();
  }
  set_counters(state, buffers.bytes(), tokens);
}

// The roofline of an in-place rotation: load, multiply by a runtime 1.0, store.
template <class T>
void inplace_pass(benchmark::State& state, Shape shape, std::int64_t tokens) {
  Buffers<T> buffers(shape, tokens);
  volatile float one_source = 1.0f;
  const float one = one_source;
  for (auto _ : state) {
    for (auto* v : {&buffers.q, &buffers.k})
      for (T& x : *v) x = T(static_cast<float>(x) * one);
    benchmark::ClobberMemory();
  }
  set_counters(state, buffers.bytes(), tokens);
}

template <class T>
void memcpy_pass(benchmark::State& state, Shape shape, std::int64_t tokens) {
  Buffers<T> source(shape, tokens), target(shape, tokens);
  for (auto _ : state) {
    std::memcpy(target.q.data(), source.q.data(), source.q.size() * sizeof(T));
    std::memcpy(target.k.data(), source.k.data(), source.k.size() * sizeof(T));
    benchmark::ClobberMemory();
  }
  set_counters(state, source.bytes(), tokens);
}

template <class T>
void register_shape(const Shape& shape, const char* phase, std::int64_t tokens) {
  const std::string suffix = std::string(shape.name) + "/" + phase + std::to_string(tokens) + "/" +
                             ropekit::storage_name<T>();
  namespace s = ropekit::scaling;
  benchmark::RegisterBenchmark(("ropekit/" + suffix + "/neox/default").c_str(),
                               rotate_case<T, s::Default>, shape, tokens, s::Default(500000.0));
  benchmark::RegisterBenchmark(("ropekit/" + suffix + "/neox/linear").c_str(),
                               rotate_case<T, s::Linear>, shape, tokens, s::Linear(4.0, 500000.0));
  benchmark::RegisterBenchmark(("inplace_pass/" + suffix).c_str(), inplace_pass<T>, shape, tokens);
  benchmark::RegisterBenchmark(("memcpy/" + suffix).c_str(), memcpy_pass<T>, shape, tokens);
}

}  // namespace

int main(int argc, char** argv) {
  for (std::int64_t tokens : {1, 64}) register_shape<float>(kLlama3_8b, "decode", tokens);
  register_shape<float>(kLlama3_8b, "prefill", 4096);
  register_shape<Eigen::bfloat16>(kLlama3_8b, "prefill", 4096);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
