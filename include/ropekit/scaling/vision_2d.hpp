// SPDX-License-Identifier: Apache-2.0
// 2-D RoPE of vision towers: each image patch has a row and a column
// position, half of the rotary pairs read one and half the other, and the
// frequency index restarts in each half, as transformers defines it for
//   Qwen2-VL   (modeling_qwen2_vl.py, VisionRotaryEmbedding(head_dim // 2)
//               and rot_pos_emb; apply_rotary_pos_emb_vision, rotate_half),
//   Llama 4    (modeling_llama4.py, Llama4VisionRotaryEmbedding and
//               vision_apply_rotary_emb, complex pairs),
//   Gemma 4    (modeling_gemma4.py, Gemma4VisionRotaryEmbedding and
//               apply_multidimensional_rope),
// and ggml's GGML_ROPE_TYPE_VISION (Qwen2-VL's definition).
#ifndef ROPEKIT_SCALING_VISION_2D_HPP
#define ROPEKIT_SCALING_VISION_2D_HPP

#include <cstdint>
#include <string>

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../version.hpp"
#include "default.hpp"

#include "../detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace scaling {

/// Which position the first half of the pairs reads (the second half reads
/// the other). Positions are always row (axis 0) and column (axis 1).
enum class VisionAxisOrder : std::uint8_t {
  row_first,     ///< Qwen2-VL (stack([hpos_ids, wpos_ids])), ggml VISION
  column_first,  ///< Llama 4 (freqs_x first), Gemma 4 (pixel_position_ids (x, y))
};

/// Where an axis's pairs sit in the head with the half-split layout.
enum class VisionPairing : std::uint8_t {
  /// Pair j is channels (j, j + d/2): one rotate_half over the head
  /// (Qwen2-VL; ggml VISION, pairs (i, i + n_dims) with n_dims = d/2).
  whole_head,
  /// The first d/2 channels are the first axis's, half-split on their own
  /// (pair k is (k, k + d/4)), the last d/2 the second axis's (Gemma 4:
  /// rotate_half per part in apply_multidimensional_rope).
  per_axis,
};

/// 2-D vision RoPE over rotary width d (a multiple of 4): pair j < d/2 has
/// ω_j = base^(-2k/(d/2)) = base^(-4k/d) with k = j mod d/4, and reads the
/// first axis for j < d/4, the second for the rest. Attention factor 1.
///
/// Positions: `Positions::multi_axis(ids, 2, tokens, axis_stride)` with
/// ids[token] = row (y) and ids[axis_stride + token] = column (x); the
/// engine computes them from the patch grid as the model does:
/// * Qwen2-VL: `qwen2_vl()` (base 10000, fixed in VisionRotaryEmbedding),
///   Layout::half_split; row and column of each patch in the order
///   rot_pos_emb lists them (spatial_merge_size blocks).
/// * Llama 4: `llama4(vision_config.rope_theta)`, Layout::interleaved;
///   pass (row + 1, column + 1) for patches and (0, 0) for the CLS token
///   (Llama 4 adds 1 to both and masks the CLS angles to 0).
/// * Gemma 4: `gemma4(vision_config.rope_parameters.rope_theta)`,
///   Layout::half_split; pixel_position_ids give (x, y) = (column, row);
///   padding patches (-1, -1) are masked out, pass any valid position.
///
/// The interleaved layout pairs adjacent channels for either pairing.
class Vision2d {
 public:
  static constexpr const char* name = "vision_2d";

  explicit Vision2d(double base = 10000.0, VisionAxisOrder order = VisionAxisOrder::row_first,
                    VisionPairing pairing = VisionPairing::whole_head)
      : base_(base), order_(order), pairing_(pairing) {
    detail::require_positive_finite("base", base);
    const int order_value = static_cast<int>(order);
    detail::require(order_value == 0 || order_value == 1, "vision axis order", order_value,
                    "must be row_first or column_first");
    const int pairing_value = static_cast<int>(pairing);
    detail::require(pairing_value == 0 || pairing_value == 1, "vision pairing", pairing_value,
                    "must be whole_head or per_axis");
  }

  static Vision2d qwen2_vl(double base = 10000.0) {
    return Vision2d(base, VisionAxisOrder::row_first, VisionPairing::whole_head);
  }
  static Vision2d llama4(double base) {
    return Vision2d(base, VisionAxisOrder::column_first, VisionPairing::whole_head);
  }
  static Vision2d gemma4(double base) {
    return Vision2d(base, VisionAxisOrder::column_first, VisionPairing::per_axis);
  }

  double base() const noexcept { return base_; }
  VisionAxisOrder order() const noexcept { return order_; }
  VisionPairing pairing() const noexcept { return pairing_; }

  Frequencies frequencies(const RotaryDims& dims) const {
    const std::int64_t d = dims.rotary_dim();
    if (d % 4 != 0)
      detail::fail("rotary_dim", d,
                   "must be a multiple of 4 for vision_2d (two axes, each rotating d/4 pairs)");
    const std::int64_t per_axis = d / 4;
    const std::uint8_t first = order_ == VisionAxisOrder::row_first ? 0 : 1;
    Frequencies f;
    f.position_axes = 2;
    f.half_split_parts = pairing_ == VisionPairing::per_axis ? 2 : 1;
    f.inv_freq.resize(static_cast<std::size_t>(2 * per_axis));
    f.position_axis.resize(f.inv_freq.size());
    for (std::int64_t j = 0; j < 2 * per_axis; ++j) {
      const auto at = static_cast<std::size_t>(j);
      f.inv_freq[at] = detail::default_inv_freq(base_, j % per_axis, d / 2);
      f.position_axis[at] = j < per_axis ? first : static_cast<std::uint8_t>(1 - first);
    }
    detail::require_inv_freq_in_range(f, "base", base_);
    return f;
  }

 private:
  double base_;
  VisionAxisOrder order_;
  VisionPairing pairing_;
};

}  // namespace scaling
ROPEKIT_END_NAMESPACE

#include "../detail/macros_end.inl"

#endif  // ROPEKIT_SCALING_VISION_2D_HPP
