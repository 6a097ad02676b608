// SPDX-License-Identifier: Apache-2.0
// Non-owning strided views of [tokens, heads, head_dim] activations. Element
// strides for tokens and heads let one view type describe BSHD, BHSD (one
// batch entry at a time) and a fused QKV row buffer without copies.
#ifndef ROPEKIT_VIEW_HPP
#define ROPEKIT_VIEW_HPP

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "detail/overflow.hpp"
#include "error.hpp"
#include "storage.hpp"
#include "version.hpp"

ROPEKIT_BEGIN_NAMESPACE

/// A view of `tokens x heads` heads of `head_dim` contiguous elements each.
/// Head (t, h) starts at `data + t * token_stride + h * head_stride`.
/// The constructor rejects views whose heads overlap, because rotating an
/// element twice would silently corrupt it.
template <class T>
class HeadView {
  static_assert(is_storage_type_v<T>,
                "ropekit: HeadView element must be float, double, Eigen::half or Eigen::bfloat16");

 public:
  using element_type = T;

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
    return HeadView(count == 0 ? data_ : head(begin, 0), count, heads_, head_dim_,
                    token_stride_, head_stride_);
  }

  /// Heads [begin, begin + count) of every token.
  HeadView head_range(std::int64_t begin, std::int64_t count) const {
    check_range("head range", begin, count, heads_);
    return HeadView(count == 0 ? data_ : head(0, begin), tokens_, count, head_dim_,
                    token_stride_, head_stride_);
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

// True when some element belongs to a head of both views. Exact for the
// layouts engines use: disjoint address ranges, or two views with the same
// token stride whose rows each fit inside that stride (fused QKV). Anything
// else that shares an address range is reported as overlapping.
template <class T>
bool views_may_overlap(const HeadView<T>& a, const HeadView<T>& b) {
  if (a.empty() || b.empty()) return false;
  const T* a_begin = a.data();
  const T* b_begin = b.data();
  const T* a_end = a_begin + a.extent();
  const T* b_end = b_begin + b.extent();
  if (a_end <= b_begin || b_end <= a_begin) return false;
  const bool single_token = a.tokens() == 1 && b.tokens() == 1;
  const std::int64_t stride = a.token_stride();
  const auto row_span = [](const HeadView<T>& v) {
    return (v.heads() - 1) * v.head_stride() + v.head_dim();
  };
  if (!single_token &&
      (a.tokens() != b.tokens() || b.token_stride() != stride ||
       row_span(a) > stride || row_span(b) > stride))
    return true;
  // Same rows: compare the heads of one row, with b's start taken modulo the
  // row stride; a head of b that runs past the row end is also compared,
  // shifted back one row, against the start of a's row.
  std::int64_t shift = b_begin - a_begin;
  if (!single_token) shift = ((shift % stride) + stride) % stride;
  std::vector<std::pair<std::int64_t, std::int64_t>> spans;
  spans.reserve(static_cast<std::size_t>(a.heads() + 2 * b.heads()));
  for (std::int64_t h = 0; h < a.heads(); ++h)
    spans.emplace_back(h * a.head_stride(), h * a.head_stride() + a.head_dim());
  for (std::int64_t h = 0; h < b.heads(); ++h) {
    const std::int64_t start = shift + h * b.head_stride();
    spans.emplace_back(start, start + b.head_dim());
    if (!single_token) spans.emplace_back(start - stride, start - stride + b.head_dim());
  }
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second) return true;
  return false;
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_VIEW_HPP
