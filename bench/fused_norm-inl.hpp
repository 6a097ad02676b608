// SPDX-License-Identifier: Apache-2.0
// Fused QK-norm and backward cases, included by rope_bench.cpp inside its
// namespace after its timing helpers (Case, timed, roofline_ratio,
// label_with_path), hence no include guard and no includes of its own.
//
// ropekit_fused/llama3_8b/<phase><tokens>/<dtype>/<layout>/qk_norm_rope:
// q (32 heads) and k (8 heads) of 128 channels RMS-normalised per head with
// Qwen3-style weights and rotated in one `apply_qk_norm` call, against the
// unfused sequence: an RMSNorm pass over q and k (norm_pass-inl.hpp,
// vectorised on the same kernel path), then `apply`.
// .../backward: `apply_backward` with YaRN (factor 4, attention factor
// 1.1386, so that the gradient is not the inverse), against the sequence
// without it: `apply_inverse` (divides by m), then a pass multiplying by m^2.
// Both report `roofline_ratio` against the in-place pass over q and k (the
// operation's own bytes: each element read once and written once) and
// `speedup_vs_unfused`.
//
// Calls alternate between two settings of the same cost that undo each
// other's growth, so that thousands of calls on the same buffers keep them
// finite and out of the subnormals (checked after the case; subnormals cost
// ~100x an element):
// weights w and 1/w, equal within each rotated pair so that they commute
// with the rotation (repeated norms with fixed or pair-unequal weights
// drive all but the heaviest channels to subnormals), and attention factors
// m and 1/m (repeated gradients grow by m a call and overflow in ~700).

// ropekit's internal macros (kernel paths, target regions) for this file.
#include <ropekit/detail/macros_begin.inl>

#if ROPEKIT_COMPILE_AVX2
ROPEKIT_TARGET_PUSH_AVX2
namespace norm_avx2 {
using ops = bench::avx2::ops;
#include "norm_pass-inl.hpp"
}  // namespace norm_avx2
ROPEKIT_TARGET_POP
#endif

#if ROPEKIT_COMPILE_AVX512
ROPEKIT_TARGET_PUSH_AVX512
namespace norm_avx512 {
using ops = bench::avx512::ops;
#include "norm_pass-inl.hpp"
}  // namespace norm_avx512
ROPEKIT_TARGET_POP
#endif

#if ROPEKIT_COMPILE_AVX512_BF16
ROPEKIT_TARGET_PUSH_AVX512_BF16
namespace norm_avx512_bf16 {
using ops = bench::avx512_bf16::ops;
#include "norm_pass-inl.hpp"
}  // namespace norm_avx512_bf16
ROPEKIT_TARGET_POP
#endif

#if ROPEKIT_COMPILE_NEON
namespace norm_neon {
using ops = ropekit::detail::ROPEKIT_TU_NAMESPACE::neon::ops;
#include "norm_pass-inl.hpp"

}  // namespace norm_neon
#endif

// The RMSNorm pass on the path ropekit calls take now.
template <class T>
void rms_norm_pass(LineVector<T>& x, std::int64_t d, const float* weight, float eps) {
  [[maybe_unused]] const auto rows = static_cast<std::int64_t>(x.size()) / d;
  switch (ropekit::active_isa()) {
#if ROPEKIT_COMPILE_AVX512_BF16
    case ropekit::Isa::avx512_bf16: return norm_avx512_bf16::rms_norm_rows(x.data(), rows, d, weight, eps);
#endif
#if ROPEKIT_COMPILE_AVX512
    case ropekit::Isa::avx512: return norm_avx512::rms_norm_rows(x.data(), rows, d, weight, eps);
#endif
#if ROPEKIT_COMPILE_AVX2
    case ropekit::Isa::avx2: return norm_avx2::rms_norm_rows(x.data(), rows, d, weight, eps);
#endif
#if ROPEKIT_COMPILE_NEON
    case ropekit::Isa::neon: return norm_neon::rms_norm_rows(x.data(), rows, d, weight, eps);
#endif
    default:
      for (T* row = x.data(); row < x.data() + x.size(); row += d) {
        float sum = 0.0f;
        for (std::int64_t c = 0; c < d; ++c) sum += static_cast<float>(row[c]) * static_cast<float>(row[c]);
        const float r = 1.0f / std::sqrt(sum / static_cast<float>(d) + eps);
        for (std::int64_t c = 0; c < d; ++c) row[c] = T(static_cast<float>(row[c]) * r * weight[c]);
      }
  }
}

template <class T, Layout L>
void norm_case(benchmark::State& state, Case c, bool backward) {
  auto& b = buffers<T>(*c.shape, c.tokens);
  const std::int64_t d = c.shape->head_dim;
  const ropekit::RotaryDims dims(d, c.shape->rotary_dim);
  const auto q = ropekit::token_major_view(b.q.data(), c.tokens, c.shape->q_heads, d);
  const auto k = ropekit::token_major_view(b.k.data(), c.tokens, c.shape->kv_heads, d);
  const auto positions = ropekit::Positions::starting_at(c.first_position());
  const float one = runtime_one();
  auto pass = [&] { inplace_pass(b, one); };
  label_with_path(state);
  bool odd_call = false;  // which of the two settings the next call uses
  if (!backward) {
    std::vector<float> q_weight(static_cast<std::size_t>(d)), k_weight(q_weight.size());
    std::vector<float> q_inverse(q_weight.size()), k_inverse(q_weight.size());
    for (std::size_t i = 0; i < q_weight.size(); ++i) {
      // One weight per rotated pair (see above), varying across pairs.
      const auto pair = static_cast<float>(L == ropekit::neox ? i % (q_weight.size() / 2) : i / 2);
      q_weight[i] = 0.75f + 0.5f * std::fmod(pair, 7.0f) / 7.0f;
      k_weight[i] = 1.25f - 0.5f * std::fmod(pair, 5.0f) / 5.0f;
      q_inverse[i] = 1.0f / q_weight[i];
      k_inverse[i] = 1.0f / k_weight[i];
    }
    const ropekit::QkNorm norms[2] = {{q_weight, k_weight, 1e-6, ropekit::NormWeight::multiply},
                                      {q_inverse, k_inverse, 1e-6, ropekit::NormWeight::multiply}};
    const ropekit::Rope<scaling::Default, L> rope(dims, scaling::Default(c.shape->base));
    auto fused = [&] {
      ropekit::apply_qk_norm(rope, q, k, positions, norms[odd_call]);
      odd_call = !odd_call;
    };
    timed(state, fused, b.bytes(), c.tokens, &pass);
    state.counters["speedup_vs_unfused"] = roofline_ratio(fused, [&] {
      const ropekit::QkNorm& norm = norms[odd_call];
      rms_norm_pass(b.q, d, norm.q_weight.data, 1e-6f);
      rms_norm_pass(b.k, d, norm.k_weight.data, 1e-6f);
      rope.apply(q, k, positions);
      odd_call = !odd_call;
    });
    require_no_subnormals(state, b);
    return;
  }
  scaling::Yarn::Params up = scaling::Yarn(4.0, 8192, c.shape->base).params();
  scaling::Yarn::Params down = up;
  down.attention_factor = 1.0 / scaling::Yarn(up).attention_factor();
  const ropekit::Rope<scaling::Yarn, L> ropes[2] = {ropekit::Rope<scaling::Yarn, L>(dims, scaling::Yarn(up)),
                                                    ropekit::Rope<scaling::Yarn, L>(dims, scaling::Yarn(down))};
  auto fused = [&] {
    ropes[odd_call].apply_backward(q, k, positions);
    odd_call = !odd_call;
  };
  timed(state, fused, b.bytes(), c.tokens, &pass);
  state.counters["speedup_vs_unfused"] = roofline_ratio(fused, [&] {
    const auto& rope = ropes[odd_call];
    rope.apply_inverse(q, k, positions);
    inplace_pass(b, static_cast<float>(rope.attention_factor() * rope.attention_factor()));
    odd_call = !odd_call;
  });
  require_no_subnormals(state, b);
}

// decode 1 and 64, prefill 4096; float and bfloat16; both layouts;
// Llama-3-8B (32 q heads, 8 KV heads of 128).
inline void register_norm_cases() {
  const Shape& llama = kShapes[0];
  const std::pair<const char*, std::int64_t> phases[] = {{"decode", 1}, {"decode", 64}, {"prefill", 4096}};
  for (const auto& [phase, tokens] : phases) {
    const Case c{&llama, tokens, phase};
    for (bool backward : {false, true}) {
      const char* op = backward ? "/backward" : "/qk_norm_rope";
      const auto add = [&](const char* dtype, const char* layout, auto function) {
        benchmark::RegisterBenchmark(("ropekit_fused/" + c.suffix(dtype) + "/" + layout + op).c_str(), function,
                                     c, backward);
      };
      add("f32", "neox", norm_case<float, ropekit::neox>);
      add("f32", "gptj", norm_case<float, ropekit::gptj>);
      add("bf16", "neox", norm_case<Eigen::bfloat16, ropekit::neox>);
      add("bf16", "gptj", norm_case<Eigen::bfloat16, ropekit::gptj>);
    }
  }
}

#include <ropekit/detail/macros_end.inl>
