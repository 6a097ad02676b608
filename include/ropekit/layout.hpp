// SPDX-License-Identifier: Apache-2.0
// Which channels of a head form a rotation pair. Orthogonal to the scaling
// policy: the same model weights in a different file format can need the other
// layout (GGUF conversions of LLaMA permute Q/K rows and use interleaved).
#ifndef ROPEKIT_LAYOUT_HPP
#define ROPEKIT_LAYOUT_HPP

#include <cstdint>

#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// Pairing of channels within the first `rotary_dim` channels of a head.
enum class Layout {
  /// Pair j is channels (j, j + rotary_dim/2): transformers' `rotate_half`
  /// (Llama, Qwen, Mistral, Phi-3, GPT-NeoX), vLLM `is_neox_style=True`,
  /// ggml `GGML_ROPE_TYPE_NEOX`.
  half_split,
  /// Pair j is channels (2j, 2j+1): GPT-J `rotate_every_two`, vLLM
  /// `is_neox_style=False`, ggml mode 0 (LLaMA in GGUF files).
  interleaved,
};

/// Conventional names for the two layouts.
inline constexpr Layout neox = Layout::half_split;
inline constexpr Layout gptj = Layout::interleaved;

/// "half_split" / "interleaved".
constexpr const char* layout_name(Layout layout) noexcept {
  return layout == Layout::half_split ? "half_split" : "interleaved";
}

namespace detail {

// Channel offsets of pair j, and the step between consecutive pairs' first
// channels; kernels use these so that a layout is two constants, not a branch.
template <Layout L>
struct pair_offsets {
  static constexpr std::int64_t first(std::int64_t j, std::int64_t /*half*/) {
    return L == Layout::half_split ? j : 2 * j;
  }
  static constexpr std::int64_t second(std::int64_t j, std::int64_t half) {
    return L == Layout::half_split ? j + half : 2 * j + 1;
  }
};

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_LAYOUT_HPP
