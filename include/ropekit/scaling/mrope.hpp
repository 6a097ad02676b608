// SPDX-License-Identifier: Apache-2.0
// Multimodal rotary position embedding, M-RoPE (Wang et al. 2024, "Qwen2-VL:
// Enhancing Vision-Language Model's Perception of the World at Any
// Resolution", arXiv 2409.12191, §2.1): each token has a temporal, a height
// and a width position, and the rotary pairs are split into three groups
// that each read one of them. Interleaved M-RoPE (Qwen3-VL) cycles the axes
// pair by pair so that every axis spans the whole frequency range.
#ifndef ROPEKIT_SCALING_MROPE_HPP
#define ROPEKIT_SCALING_MROPE_HPP

#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../version.hpp"
#include "default.hpp"

#include "../detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace scaling {

/// How pairs are assigned to the temporal (0), height (1) and width (2) axes.
enum class MropeLayout : std::uint8_t {
  /// Qwen2-VL, Qwen2.5-VL (transformers `mrope_section`, vLLM
  /// `MRotaryEmbedding`, ggml `GGML_ROPE_TYPE_MROPE`): the first
  /// section[0] pairs read t, the next section[1] read h, the rest w.
  sectioned,
  /// Qwen3-VL (transformers `apply_interleaved_mrope`, vLLM
  /// `mrope_interleaved`, ggml `GGML_ROPE_TYPE_IMROPE`): pair j reads h if
  /// j % 3 == 1 and j < 3·section[1], w if j % 3 == 2 and j < 3·section[2],
  /// t otherwise (Qwen3-VL: sections {24, 20, 20} for 64 pairs).
  interleaved,
};

/// M-RoPE over any static policy: `Inner` supplies the frequencies and the
/// attention factor (`Default(1e6)` for Qwen2-VL, `Default(5e6)` for
/// Qwen3-VL; `Yarn` for YaRN-extended checkpoints, as vLLM allows), and
/// Mrope adds each pair's position axis.
///
/// Sections count rotary pairs (transformers' `mrope_section`, e.g.
/// {16, 24, 24} for rotary_dim 128) and must sum to rotary_dim/2; checked
/// when the frequencies for a `RotaryDims` are built. For the interleaved
/// layout each axis must also receive exactly its section's count of pairs.
///
/// Positions: `Positions::multi_axis(ids, 3, tokens, axis_stride)` with
/// ids[axis * axis_stride + token] (transformers' `position_ids[3, seq]`);
/// a single-axis `Positions` feeds all three axes, which is the plain 1-D
/// rotation (text tokens have t = h = w). Computing the 3-D ids from image
/// grids (`get_rope_index`) is the engine's job.
///
/// Differences: ggml's MROPE takes four ids per token and `sections[4]`
/// (the fourth for an extra axis); ropekit has three. ggml's VISION mode
/// (pairs i and i + n_dims with n_dims = head_dim/2) is a different layout
/// and is not covered. transformers supports M-RoPE only with default
/// frequencies; vLLM also with YaRN.
template <class Inner = Default>
class Mrope {
  static_assert(!is_length_dependent_v<Inner>,
                "Mrope composes with static policies only (not DynamicNtk or LongRope)");

 public:
  static constexpr const char* name = "mrope";
  using inner_type = Inner;
  /// Pairs per axis: temporal, height, width.
  using sections_type = std::array<std::int64_t, 3>;

  explicit Mrope(sections_type mrope_section, Inner inner = Inner(),
                 MropeLayout layout = MropeLayout::sectioned)
      : sections_(mrope_section), inner_(std::move(inner)), layout_(layout) {
    for (std::size_t axis = 0; axis < 3; ++axis)
      detail::require(sections_[axis] >= 0, ("mrope_section[" + std::to_string(axis) + "]").c_str(),
                      sections_[axis], "must not be negative");
    const int as_int = static_cast<int>(layout);
    detail::require(as_int == 0 || as_int == 1, "mrope layout", as_int,
                    "must be sectioned or interleaved");
  }

  const sections_type& mrope_section() const noexcept { return sections_; }
  const Inner& inner() const noexcept { return inner_; }
  MropeLayout layout() const noexcept { return layout_; }

  /// The axis pair `j` (>= 0) reads (`frequencies` validates the sections;
  /// written without sums or products of sections, so any section is safe).
  std::uint8_t axis_of(std::int64_t j) const noexcept {
    if (layout_ == MropeLayout::interleaved) {
      // j < 3·section, as j / 3 < section.
      if (j % 3 == 1 && j / 3 < sections_[1]) return 1;
      if (j % 3 == 2 && j / 3 < sections_[2]) return 2;
      return 0;
    }
    if (j < sections_[0]) return 0;
    if (j - sections_[0] < sections_[1]) return 1;
    return 2;
  }

  Frequencies frequencies(const RotaryDims& dims) const {
    const std::int64_t pairs = dims.pairs();
    // Each section at most `pairs` first: then the sum cannot overflow.
    for (std::size_t axis = 0; axis < 3; ++axis)
      if (sections_[axis] > pairs)
        detail::fail(("mrope_section[" + std::to_string(axis) + "]").c_str(), sections_[axis],
                     "must not exceed rotary_dim / 2 = " + std::to_string(pairs) +
                         " (sections count rotary pairs)");
    const std::int64_t sum = sections_[0] + sections_[1] + sections_[2];
    if (sum != pairs)
      detail::fail("mrope_section sum", sum,
                   "must equal rotary_dim / 2 = " + std::to_string(pairs) + " (sections {" +
                       std::to_string(sections_[0]) + ", " + std::to_string(sections_[1]) + ", " +
                       std::to_string(sections_[2]) + "} count rotary pairs)");
    Frequencies f = inner_.frequencies(dims);
    f.position_axes = 3;
    f.position_axis.resize(static_cast<std::size_t>(pairs));
    std::array<std::int64_t, 3> count = {0, 0, 0};
    for (std::int64_t j = 0; j < pairs; ++j) {
      const std::uint8_t axis = axis_of(j);
      f.position_axis[static_cast<std::size_t>(j)] = axis;
      ++count[axis];
    }
    // Interleaving caps h and w at every third pair; a section that asks
    // for more would silently lose pairs to t. Name h and w before t, whose
    // surplus is only the consequence. (Sectioned counts always match once
    // the sum does.)
    if (layout_ != MropeLayout::interleaved) return f;
    for (std::size_t axis : {std::size_t{1}, std::size_t{2}, std::size_t{0}})
      if (count[axis] != sections_[axis])
        detail::fail(("mrope_section[" + std::to_string(axis) + "]").c_str(), sections_[axis],
                     "gets " + std::to_string(count[axis]) +
                         " pairs when interleaved over rotary_dim / 2 = " + std::to_string(pairs) +
                         " (an axis other than t can hold at most " + "every third pair)");
    return f;
  }

 private:
  sections_type sections_;
  Inner inner_;
  MropeLayout layout_;
};

}  // namespace scaling
ROPEKIT_END_NAMESPACE

#include "../detail/macros_end.inl"

#endif  // ROPEKIT_SCALING_MROPE_HPP
