// SPDX-License-Identifier: Apache-2.0
// Per-head RMSNorm of q and k fused with the rotation: what Qwen3 and Gemma 3
// run right before RoPE (transformers' Qwen3Attention / Gemma3Attention apply
// q_norm and k_norm over each head's head_dim channels, then
// apply_rotary_pos_emb). One pass over the data, in place: each head is read
// once for its mean square, then normalised, rotated and stored once.
//
// The arithmetic is transformers' float32 one: r = 1 / sqrt(mean(x^2) + eps)
// per head, y = (x * r) * w (Qwen3RMSNorm) or (x * r) * (1 + w)
// (Gemma3RMSNorm), then the rotation. Two differences, both in accuracy's
// favour: the mean square is summed in double (so r is the correctly
// rounded float of its formula, up to the double sum's own ~1e-16), and a
// half/bfloat16 result is rounded once, after the rotation (Qwen3RMSNorm
// rounds the normalised value to the input type before multiplying by the
// weight, and the rotation rounds again). Double storage normalises in
// double.
#ifndef ROPEKIT_QK_NORM_HPP
#define ROPEKIT_QK_NORM_HPP

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "any_rope.hpp"
#include "detail/execute.hpp"
#include "dims.hpp"
#include "error.hpp"
#include "frequencies.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "rope.hpp"
#include "version.hpp"
#include "view.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// How the per-channel weight scales the normalised value.
enum class NormWeight {
  multiply,  ///< `x * r * w`: Qwen3RMSNorm (Qwen3, Qwen3-MoE)
  one_plus,  ///< `x * r * (1 + w)`: Gemma3RMSNorm (Gemma 2/3 store w - 1)
};

/// One tensor's norm weights: `size` floats at `data`, one per channel of a
/// head (size must equal head_dim). Converts from a std::vector<float>.
struct NormWeights {
  const float* data = nullptr;
  std::int64_t size = 0;
  NormWeights() = default;
  NormWeights(const float* weights, std::int64_t count) noexcept : data(weights), size(count) {}
  NormWeights(const std::vector<float>& weights) noexcept  // implicit on purpose
      : data(weights.data()), size(static_cast<std::int64_t>(weights.size())) {}
};

/// The RMSNorm of one tensor's heads: `head_dim` float weights (convert a
/// bfloat16 checkpoint's weight once, at load), and eps (`rms_norm_eps`; it
/// is added in float, as PyTorch adds it to a float32 tensor).
struct HeadNorm {
  NormWeights weight;
  double eps = 1e-6;
  NormWeight kind = NormWeight::multiply;
};

/// q_norm and k_norm of one attention layer (one weight vector each, shared
/// by every head of that tensor; one eps, as the models configure it).
struct QkNorm {
  NormWeights q_weight;
  NormWeights k_weight;
  double eps = 1e-6;
  NormWeight kind = NormWeight::multiply;
};

namespace detail {

// The kernels' NormSpec for `weight`, rejecting what they cannot take.
inline NormSpec norm_spec(const NormWeights& weight, double eps, NormWeight kind,
                          const char* weight_name, const RotaryDims& dims) {
  if (weight.data == nullptr) fail(weight_name, "nullptr", "must point to head_dim floats");
  if (weight.size != dims.head_dim())
    fail((std::string(weight_name) + ".size").c_str(), weight.size,
         "must equal head_dim = " + std::to_string(dims.head_dim()));
  if (!(std::isfinite(eps) && eps > 0.0 &&
        eps <= static_cast<double>(std::numeric_limits<float>::max()) &&
        static_cast<float>(eps) > 0.0f))
    fail("norm.eps", eps, "must be finite, positive and representable as a float");
  if (kind != NormWeight::multiply && kind != NormWeight::one_plus)
    fail("norm.kind", static_cast<int>(kind), "must be NormWeight::multiply or NormWeight::one_plus");
  return NormSpec{weight.data, static_cast<float>(eps), kind == NormWeight::one_plus};
}

// f(integral_constant<Layout, L>) for a layout chosen at run time.
template <class F>
void with_layout(Layout layout, F&& f) {
  if (layout == Layout::half_split)
    f(std::integral_constant<Layout, Layout::half_split>{});
  else if (layout == Layout::interleaved)
    f(std::integral_constant<Layout, Layout::interleaved>{});
  else
    fail("layout", static_cast<int>(layout), "must be half_split or interleaved");
}

template <class T>
using NormStream = Stream<HeadView<T>, InPlace, true, true>;

template <class Tag, Layout L, class Source, class T>
void run_qk_norm(const Source& source, const RotaryDims& dims, HeadView<T> q, HeadView<T> k,
                 const Positions& positions, const QkNorm& norm) {
  const NormSpec q_spec = norm_spec(norm.q_weight, norm.eps, norm.kind, "norm.q_weight", dims);
  const NormSpec k_spec = norm_spec(norm.k_weight, norm.eps, norm.kind, "norm.k_weight", dims);
  const StreamNames names[] = {{"q", "q"}, {"k", "k"}};
  execute_streams<Tag, L>(
      source, dims, positions, 1,
      std::make_tuple(NormStream<T>{q, InPlace{}, q_spec}, NormStream<T>{k, InPlace{}, k_spec}),
      names);
}

template <class Tag, Layout L, class Source, class T>
void run_head_norm(const Source& source, const RotaryDims& dims, HeadView<T> x,
                   const Positions& positions, const HeadNorm& norm) {
  const NormSpec spec = norm_spec(norm.weight, norm.eps, norm.kind, "norm.weight", dims);
  const StreamNames names[] = {{"x", "x"}};
  execute_streams<Tag, L>(source, dims, positions, 1,
                          std::make_tuple(NormStream<T>{x, InPlace{}, spec}), names);
}

}  // namespace detail

/// Normalises every head of q with `norm.q_weight` and of k with
/// `norm.k_weight`, then rotates both as `rope.apply(q, k, positions)` does
/// (a length-dependent policy advances its state the same way), in one pass
/// and in place. Every storage type; double is normalised and rotated in
/// double. Channels outside the rotated slice (partial rotary) are
/// normalised and not rotated.
template <class Policy, Layout L, class T, class Tag = detail::native_tag>
void apply_qk_norm(const Rope<Policy, L>& rope, HeadView<T> q, HeadView<T> k,
                   const Positions& positions, const QkNorm& norm) {
  detail::run_qk_norm<Tag, L>(rope.source(detail::Direction::forward), rope.dims(), q, k,
                              positions, norm);
}

template <class T, class Tag = detail::native_tag>
void apply_qk_norm(const AnyRope& any, HeadView<T> q, HeadView<T> k, const Positions& positions,
                   const QkNorm& norm) {
  detail::with_rope(any, [&](const auto& rope, auto layout) {
    detail::run_qk_norm<Tag, decltype(layout)::value>(
        rope.source(detail::Direction::forward), rope.dims(), q, k, positions, norm);
  });
}

/// One tensor (q only or k only): normalise its heads with `norm`, rotate.
template <class Policy, Layout L, class T, class Tag = detail::native_tag>
void apply_head_norm(const Rope<Policy, L>& rope, HeadView<T> x, const Positions& positions,
                     const HeadNorm& norm) {
  detail::run_head_norm<Tag, L>(rope.source(detail::Direction::forward), rope.dims(), x,
                                positions, norm);
}

template <class T, class Tag = detail::native_tag>
void apply_head_norm(const AnyRope& any, HeadView<T> x, const Positions& positions,
                     const HeadNorm& norm) {
  detail::with_rope(any, [&](const auto& rope, auto layout) {
    detail::run_head_norm<Tag, decltype(layout)::value>(
        rope.source(detail::Direction::forward), rope.dims(), x, positions, norm);
  });
}

/// The same with an explicit table (see `rotate`).
template <Layout L, class T, class Tag = detail::native_tag>
void rotate_qk_norm(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> q,
                    HeadView<T> k, const Positions& positions, const QkNorm& norm) {
  detail::run_qk_norm<Tag, L>(detail::TableSource{table, detail::Direction::forward}, dims, q, k,
                              positions, norm);
}

template <Layout L, class T, class Tag = detail::native_tag>
void rotate_head_norm(const FrequencyTable& table, const RotaryDims& dims, HeadView<T> x,
                      const Positions& positions, const HeadNorm& norm) {
  detail::run_head_norm<Tag, L>(detail::TableSource{table, detail::Direction::forward}, dims, x,
                                positions, norm);
}

/// The same with the layout chosen at run time.
template <class T, class Tag = detail::native_tag>
void rotate_qk_norm(const FrequencyTable& table, const RotaryDims& dims, Layout layout,
                    HeadView<T> q, HeadView<T> k, const Positions& positions,
                    const QkNorm& norm) {
  detail::with_layout(layout, [&](auto l) {
    rotate_qk_norm<decltype(l)::value, T, Tag>(table, dims, q, k, positions, norm);
  });
}

template <class T, class Tag = detail::native_tag>
void rotate_head_norm(const FrequencyTable& table, const RotaryDims& dims, Layout layout,
                      HeadView<T> x, const Positions& positions, const HeadNorm& norm) {
  detail::with_layout(layout, [&](auto l) {
    rotate_head_norm<decltype(l)::value, T, Tag>(table, dims, x, positions, norm);
  });
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_QK_NORM_HPP
