// SPDX-License-Identifier: Apache-2.0
// Non-owning strided views of [tokens, heads, head_dim] activations. Element
// strides for tokens and heads let one view type describe BSHD, BHSD (one
// batch entry at a time) and a fused QKV row buffer without copies.
#ifndef ROPEKIT_VIEW_HPP
#define ROPEKIT_VIEW_HPP

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#include "detail/overflow.hpp"
#include "error.hpp"
#include "storage.hpp"
#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// A view of `tokens x heads` heads of `head_dim` contiguous elements each.
/// Head (t, h) starts at `data + t * token_stride + h * head_stride`.
/// The constructor rejects views whose heads overlap, because rotating an
/// element twice would silently corrupt it.
template <class T>
class HeadView {
  static_assert(is_storage_type_v<std::remove_const_t<T>>,
                "ropekit: HeadView element must be float, double, Eigen::half, Eigen::bfloat16, "
                "float8_e4m3fn or float8_e5m2 (const-qualified for a read-only source)");

 public:
  using element_type = T;
  using value_type = std::remove_const_t<T>;

  HeadView(T* data, std::int64_t tokens, std::int64_t heads, std::int64_t head_dim,
           std::int64_t token_stride, std::int64_t head_stride)
      : data_(data),
        tokens_(tokens),
        heads_(heads),
        head_dim_(head_dim),
        token_stride_(token_stride),
        head_stride_(head_stride) {
    validate();
  }

  /// A view of mutable elements is also a read-only view (a source).
  template <class U, std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>, int> = 0>
  HeadView(const HeadView<U>& other) noexcept
      : data_(other.data()),
        tokens_(other.tokens()),
        heads_(other.heads()),
        head_dim_(other.head_dim()),
        token_stride_(other.token_stride()),
        head_stride_(other.head_stride()),
        scale_(other.scale()),
        head_scales_(other.head_scales()) {}

  /// FP8 storage: element value = code * scale (vLLM's k_scale / v_scale;
  /// one scale for the whole tensor). Finite and positive.
  HeadView with_scale(float scale) const {
    static_assert(is_fp8_v<value_type>, "ropekit: only FP8 views carry a scale");
    if (!(std::isfinite(scale) && scale > 0.0f)) detail::fail("scale", scale, "must be finite and positive");
    HeadView view = *this;
    view.scale_ = scale;
    view.head_scales_ = nullptr;
    return view;
  }
  /// FP8 storage: one scale per head (`heads()` floats, each finite and
  /// positive; checked when a call uses the view).
  HeadView with_head_scales(const float* scales) const {
    static_assert(is_fp8_v<value_type>, "ropekit: only FP8 views carry a scale");
    detail::require(scales != nullptr || empty(), "head_scales", "nullptr",
                    "must point to one scale per head");
    HeadView view = *this;
    view.head_scales_ = scales;
    return view;
  }
  /// The dequantisation scale of a head (1 for non-FP8 storage).
  float scale(std::int64_t head_index) const noexcept {
    return head_scales_ != nullptr ? head_scales_[head_index] : scale_;
  }
  float scale() const noexcept { return scale_; }
  const float* head_scales() const noexcept { return head_scales_; }

  T* data() const noexcept { return data_; }
  std::int64_t tokens() const noexcept { return tokens_; }
  std::int64_t heads() const noexcept { return heads_; }
  std::int64_t head_dim() const noexcept { return head_dim_; }
  std::int64_t token_stride() const noexcept { return token_stride_; }
  std::int64_t head_stride() const noexcept { return head_stride_; }
  bool empty() const noexcept { return tokens_ == 0 || heads_ == 0; }

  /// First element of head (token, head).
  T* head(std::int64_t token, std::int64_t head_index) const noexcept {
    return data_ + token * token_stride_ + head_index * head_stride_;
  }

  /// Tokens [begin, begin + count): for splitting work across threads.
  HeadView token_range(std::int64_t begin, std::int64_t count) const {
    check_range("token range", begin, count, tokens_);
    HeadView view(count == 0 ? data_ : head(begin, 0), count, heads_, head_dim_, token_stride_,
                  head_stride_);
    view.scale_ = scale_;
    view.head_scales_ = head_scales_;
    return view;
  }

  /// Heads [begin, begin + count) of every token.
  HeadView head_range(std::int64_t begin, std::int64_t count) const {
    check_range("head range", begin, count, heads_);
    HeadView view(count == 0 ? data_ : head(0, begin), tokens_, count, head_dim_, token_stride_,
                  head_stride_);
    view.scale_ = scale_;
    view.head_scales_ = head_scales_ == nullptr ? nullptr : head_scales_ + begin;
    return view;
  }

  /// Offset one past the last element any head touches (0 for empty views).
  std::int64_t extent() const noexcept {
    if (empty()) return 0;
    return (tokens_ - 1) * token_stride_ + (heads_ - 1) * head_stride_ + head_dim_;
  }

 private:
  static void check_range(const char* what, std::int64_t begin, std::int64_t count,
                          std::int64_t size) {
    if (begin < 0 || count < 0 || begin > size || count > size - begin) {
      std::int64_t end = 0;
      const std::string end_text = detail::add_overflows(begin, count, &end)
                                       ? std::to_string(begin) + " + " + std::to_string(count)
                                       : std::to_string(end);
      detail::fail(what, "[" + std::to_string(begin) + ", " + end_text + ")",
                   "must lie within [0, " + std::to_string(size) + ")");
    }
  }

  void validate() const {
    detail::require(tokens_ >= 0, "tokens", tokens_, "must not be negative");
    detail::require(heads_ >= 0, "heads", heads_, "must not be negative");
    detail::require(head_dim_ > 0, "head_dim", head_dim_, "must be positive");
    detail::require(token_stride_ >= 0, "token_stride", token_stride_, "must not be negative");
    detail::require(head_stride_ >= 0, "head_stride", head_stride_, "must not be negative");
    // Keep every offset representable: tokens * token_stride, heads *
    // head_stride and head_dim each at most a quarter of INT64_MAX, so their
    // sums (extent(), the overlap spans below) cannot overflow.
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max() / 4;
    detail::require(head_dim_ <= kMax, "head_dim", head_dim_,
                    "must be at most INT64_MAX / 4 (element offsets must fit in int64)");
    if (empty()) return;
    detail::require(data_ != nullptr, "data", "nullptr",
                    "must point to memory when the view is not empty");
    detail::require(token_stride_ <= kMax / tokens_, "token_stride", token_stride_,
                    "times tokens overflows");
    detail::require(head_stride_ <= kMax / heads_, "head_stride", head_stride_,
                    "times heads overflows");

    // Heads are disjoint when the two axes nest: the inner axis steps by at
    // least one head, and the outer axis steps past the whole inner run.
    // (Interleavings that are disjoint without nesting do not occur in real
    // layouts; rejecting them is the safe answer.)
    std::pair<std::int64_t, std::int64_t> axes[2] = {{tokens_, token_stride_},
                                                     {heads_, head_stride_}};
    const char* names[2] = {"token_stride", "head_stride"};
    int inner = token_stride_ <= head_stride_ ? 0 : 1;
    if (axes[inner].first == 1) inner = 1 - inner;  // a single-entry axis never overlaps
    const int outer = 1 - inner;
    const std::int64_t inner_span =
        (axes[inner].first - 1) * axes[inner].second + head_dim_;
    if (axes[inner].first > 1 && axes[inner].second < head_dim_)
      detail::fail(names[inner], axes[inner].second,
                   "heads overlap: the stride must be at least head_dim = " +
                       std::to_string(head_dim_));
    if (axes[outer].first > 1 && axes[outer].second < inner_span)
      detail::fail(names[outer], axes[outer].second,
                   "heads overlap: the stride must be at least " + std::to_string(inner_span) +
                       " to step past the " + std::to_string(axes[inner].first) +
                       (inner == 0 ? " tokens" : " heads") + " it contains");
  }

  T* data_;
  std::int64_t tokens_, heads_, head_dim_, token_stride_, head_stride_;
  float scale_ = 1.0f;
  const float* head_scales_ = nullptr;
};

namespace detail {

// count * head_dim for a contiguous stride, rejected (naming `name`) when it
// overflows; negative values are left to HeadView's checks.
inline std::int64_t contiguous_stride(const char* name, std::int64_t count,
                                      std::int64_t head_dim) {
  std::int64_t stride = 0;
  if (count > 0 && head_dim > 0 && mul_overflows(count, head_dim, &stride))
    fail(name, count, "times head_dim = " + std::to_string(head_dim) + " overflows int64");
  return stride;
}

}  // namespace detail

/// Contiguous `[tokens, heads, head_dim]` (BSHD for one sequence or a flat
/// token batch; also Eigen's column-major `Tensor(head_dim, heads, tokens)`).
template <class T>
HeadView<T> token_major_view(T* data, std::int64_t tokens, std::int64_t heads,
                             std::int64_t head_dim) {
  return HeadView<T>(data, tokens, heads, head_dim,
                     detail::contiguous_stride("heads", heads, head_dim), head_dim);
}

/// Contiguous `[heads, tokens, head_dim]`: one batch entry of a BHSD tensor.
template <class T>
HeadView<T> head_major_view(T* data, std::int64_t tokens, std::int64_t heads,
                            std::int64_t head_dim) {
  return HeadView<T>(data, tokens, heads, head_dim, head_dim,
                     detail::contiguous_stride("tokens", tokens, head_dim));
}

/// The q, k and v parts of a fused QKV buffer whose rows are
/// `[q heads | k heads | v heads]` (vLLM/llama.cpp fused projections).
template <class T>
struct FusedQkv {
  HeadView<T> q, k, v;
};

/// Views into a fused QKV buffer; `row_stride` (elements between tokens)
/// defaults to the packed row width `(q_heads + 2 * kv_heads) * head_dim`.
template <class T>
FusedQkv<T> fused_qkv_views(T* rows, std::int64_t tokens, std::int64_t q_heads,
                            std::int64_t kv_heads, std::int64_t head_dim,
                            std::int64_t row_stride = -1) {
  detail::require(q_heads >= 0, "q_heads", q_heads, "must not be negative");
  detail::require(kv_heads >= 0, "kv_heads", kv_heads, "must not be negative");
  detail::require(head_dim > 0, "head_dim", head_dim, "must be positive");
  // Row width (q_heads + 2 * kv_heads) * head_dim, each part checked.
  std::int64_t q_width = 0, kv_width = 0, packed = 0;
  if (detail::mul_overflows(q_heads, head_dim, &q_width))
    detail::fail("q_heads", q_heads,
                 "times head_dim = " + std::to_string(head_dim) + " overflows int64");
  if (detail::mul_overflows(kv_heads, head_dim, &kv_width) ||
      detail::add_overflows(kv_width, kv_width, &kv_width) ||
      detail::add_overflows(q_width, kv_width, &packed))
    detail::fail("kv_heads", kv_heads,
                 "gives a packed row width (q_heads + 2 * kv_heads) * head_dim that overflows "
                 "int64 (q_heads = " + std::to_string(q_heads) + ", head_dim = " +
                     std::to_string(head_dim) + ")");
  if (row_stride < 0) row_stride = packed;
  if (row_stride < packed)
    detail::fail("row_stride", row_stride,
                 "must be at least the packed row width " + std::to_string(packed));
  T* k_start = rows == nullptr ? rows : rows + q_heads * head_dim;
  T* v_start = rows == nullptr ? rows : rows + (q_heads + kv_heads) * head_dim;
  return {HeadView<T>(rows, tokens, q_heads, head_dim, row_stride, head_dim),
          HeadView<T>(k_start, tokens, kv_heads, head_dim, row_stride, head_dim),
          HeadView<T>(v_start, tokens, kv_heads, head_dim, row_stride, head_dim)};
}

namespace detail {

// A view's heads in bytes: `tokens` rows `token_stride` apart, each with
// `heads` runs of `head_bytes` bytes `head_stride` apart, from `begin`.
struct ByteHeads {
  std::uintptr_t begin = 0;
  std::int64_t tokens = 0, heads = 0, head_bytes = 0, token_stride = 0, head_stride = 0;

  ByteHeads() = default;
  template <class T>
  explicit ByteHeads(const HeadView<T>& view)
      : begin(reinterpret_cast<std::uintptr_t>(view.data())),
        tokens(view.tokens()),
        heads(view.heads()),
        head_bytes(view.head_dim() * static_cast<std::int64_t>(sizeof(T))),
        token_stride(view.token_stride() * static_cast<std::int64_t>(sizeof(T))),
        head_stride(view.head_stride() * static_cast<std::int64_t>(sizeof(T))) {}

  bool empty() const noexcept { return tokens == 0 || heads == 0; }
  std::int64_t extent() const noexcept {
    return (tokens - 1) * token_stride + (heads - 1) * head_stride + head_bytes;
  }
  std::int64_t row_span() const noexcept { return (heads - 1) * head_stride + head_bytes; }

  // Whether [x, x + length) (bytes from the start of a row) meets a head of
  // the row. Heads are disjoint and in order, so only the first head ending
  // after x can meet it.
  bool row_meets(std::int64_t x, std::int64_t length) const noexcept {
    std::int64_t first = 0;  // the first head ending after x
    if (x >= head_bytes) {
      if (heads == 1) return false;
      first = (x - head_bytes) / head_stride + 1;
    }
    return first < heads && first * head_stride < x + length;
  }
};

// True when some byte belongs to a head of both views. Exact for the layouts
// engines use: disjoint address ranges, or two views with the same token
// stride whose rows each fit inside that stride (fused QKV). Anything else
// that shares an address range is reported as overlapping. No allocation:
// each head of b is compared with a's row in O(1).
inline bool heads_may_overlap(const ByteHeads& a, const ByteHeads& b) noexcept {
  if (a.empty() || b.empty()) return false;
  if (a.begin + static_cast<std::uintptr_t>(a.extent()) <= b.begin ||
      b.begin + static_cast<std::uintptr_t>(b.extent()) <= a.begin)
    return false;
  const bool single_token = a.tokens == 1 && b.tokens == 1;
  const std::int64_t stride = a.token_stride;
  if (!single_token && (a.tokens != b.tokens || b.token_stride != stride ||
                        a.row_span() > stride || b.row_span() > stride || stride == 0))
    return true;
  // The extents intersect, so the distance fits (both lie in one object).
  std::int64_t shift = b.begin >= a.begin ? static_cast<std::int64_t>(b.begin - a.begin)
                                          : -static_cast<std::int64_t>(a.begin - b.begin);
  // Same rows: b's heads taken modulo the row stride; a head of b that runs
  // past the row end is also compared, shifted back one row.
  if (!single_token) shift = ((shift % stride) + stride) % stride;
  for (std::int64_t h = 0; h < b.heads; ++h) {
    const std::int64_t x = shift + h * b.head_stride;
    if (a.row_meets(x, b.head_bytes)) return true;
    if (!single_token && a.row_meets(x - stride, b.head_bytes)) return true;
  }
  return false;
}

template <class A, class B>
bool views_may_overlap(const HeadView<A>& a, const HeadView<B>& b) noexcept {
  return heads_may_overlap(ByteHeads(a), ByteHeads(b));
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_VIEW_HPP
