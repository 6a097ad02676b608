// SPDX-License-Identifier: Apache-2.0
// Head and rotary widths. Partial rotary (GPT-NeoX, Phi-2, GLM) rotates only
// `rotary_dim` channels of each head, the first ones unless an offset moves
// the slice (DeepSeek-V4 rotates the last 64 of 512); the frequency exponent
// and the half-split partner both use the rotary width, never head_dim.
#ifndef ROPEKIT_DIMS_HPP
#define ROPEKIT_DIMS_HPP

#include <cstdint>
#include <string>

#include "error.hpp"
#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// Validated head geometry: `0 < rotary_dim <= head_dim`, rotary_dim even,
/// and the rotated slice `[offset, offset + rotary_dim)` inside the head.
class RotaryDims {
 public:
  /// Full rotary: every channel of the head rotates.
  explicit RotaryDims(std::int64_t head_dim) : RotaryDims(head_dim, head_dim) {}

  /// Partial rotary: channels [0, rotary_dim) rotate, the rest pass through.
  RotaryDims(std::int64_t head_dim, std::int64_t rotary_dim) : RotaryDims(head_dim, rotary_dim, 0) {}

  /// A rotated slice at an offset: channels [offset, offset + rotary_dim)
  /// rotate (pairs counted from `offset` in either layout), the rest pass
  /// through. vLLM's `rotary_embedding(..., rope_dim_offset)` and ggml's
  /// `ggml_rope_set_offset`; DeepSeek-V4 rotates the last rotary_dim channels
  /// (offset = head_dim - rotary_dim, vLLM's DeepseekV4ScalingRotaryEmbedding).
  RotaryDims(std::int64_t head_dim, std::int64_t rotary_dim, std::int64_t offset)
      : head_dim_(head_dim), rotary_dim_(rotary_dim), offset_(offset) {
    detail::require(head_dim > 0, "head_dim", head_dim, "must be positive");
    detail::require(head_dim <= kMaxHeadDim, "head_dim", head_dim,
                    "must be at most 65536");
    detail::require(rotary_dim > 0, "rotary_dim", rotary_dim, "must be positive");
    detail::require(rotary_dim % 2 == 0, "rotary_dim", rotary_dim,
                    "must be even (channels rotate in pairs)");
    if (rotary_dim > head_dim)
      detail::fail("rotary_dim", rotary_dim,
                   "must not exceed head_dim = " + std::to_string(head_dim));
    detail::require(offset >= 0, "offset", offset, "must not be negative");
    // rotary_dim <= head_dim here, so the difference cannot overflow.
    if (offset > head_dim - rotary_dim)
      detail::fail("offset", offset,
                   "plus rotary_dim = " + std::to_string(rotary_dim) +
                       " must not exceed head_dim = " + std::to_string(head_dim));
  }

  std::int64_t head_dim() const noexcept { return head_dim_; }
  std::int64_t rotary_dim() const noexcept { return rotary_dim_; }
  /// First rotated channel.
  std::int64_t offset() const noexcept { return offset_; }
  /// Number of rotation pairs, rotary_dim / 2.
  std::int64_t pairs() const noexcept { return rotary_dim_ / 2; }

  friend bool operator==(const RotaryDims& a, const RotaryDims& b) noexcept {
    return a.head_dim_ == b.head_dim_ && a.rotary_dim_ == b.rotary_dim_ && a.offset_ == b.offset_;
  }
  friend bool operator!=(const RotaryDims& a, const RotaryDims& b) noexcept {
    return !(a == b);
  }

 private:
  // Far above any model (largest heads today are 256 or 512 channels); the
  // cap keeps every offset computation comfortably inside int64.
  static constexpr std::int64_t kMaxHeadDim = 65536;
  std::int64_t head_dim_;
  std::int64_t rotary_dim_;
  std::int64_t offset_;
};

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_DIMS_HPP
