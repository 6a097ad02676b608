// SPDX-License-Identifier: Apache-2.0
// Token positions: a start offset (prefill, single-sequence decode), one
// value for every token (a K-shift's delta), explicit ids in any order with
// repeats (batched decode, tree/speculative attention), or packed
// variable-length sequences described by their cumulative lengths
// (`cu_seqlens`), without materialising ids. Multimodal rotary (M-RoPE)
// gives up to three ids per token.
#ifndef ROPEKIT_POSITIONS_HPP
#define ROPEKIT_POSITIONS_HPP

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "detail/overflow.hpp"
#include "error.hpp"
#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// Largest position ropekit accepts. Angles are exact (float precision for
/// cos/sin) over the whole range [0, max_position]; position deltas (K-shift)
/// over [-max_position, max_position].
inline constexpr std::int64_t max_position = 2147483647;  // 2^31 - 1

/// Positions of the tokens of one call. Cheap to copy; does not own ids.
class Positions {
 public:
  /// Most axes a token can carry (temporal, height, width for M-RoPE).
  static constexpr int kMaxAxes = 3;

  /// Tokens at start, start + 1, ... (count comes from the views).
  static Positions starting_at(std::int64_t start) {
    detail::require(start >= 0, "start position", start, "must not be negative");
    detail::require(start <= max_position, "start position", start,
                    "must not exceed max_position = 2147483647");
    Positions p;
    p.start_ = start;
    return p;
  }

  /// Every token at `value` (count comes from the views): one delta for a
  /// whole K-shift call. |value| <= max_position; as an absolute position it
  /// must also be non-negative, which the call checks.
  static Positions constant(std::int64_t value) {
    detail::require(value >= -max_position && value <= max_position, "constant position", value,
                    "must lie in [-2147483647, 2147483647]");
    Positions p;
    p.kind_ = Kind::constant;
    p.start_ = value;
    p.step_ = 0;
    return p;
  }

  /// One id per token, `count` ids.
  Positions(const std::int32_t* ids, std::int64_t count) { set(ids, nullptr, count, 1); }
  Positions(const std::int64_t* ids, std::int64_t count) { set(nullptr, ids, count, 1); }

  /// `axes` ids per token for multimodal rotary: axis a of token t is
  /// `ids[a * axis_stride + t]` (transformers' `position_ids[3, seq]`).
  static Positions multi_axis(const std::int64_t* ids, int axes, std::int64_t count,
                              std::int64_t axis_stride) {
    Positions p;
    p.set_axes(nullptr, ids, count, axes, axis_stride);
    return p;
  }
  static Positions multi_axis(const std::int32_t* ids, int axes, std::int64_t count,
                              std::int64_t axis_stride) {
    Positions p;
    p.set_axes(ids, nullptr, count, axes, axis_stride);
    return p;
  }

  /// Packed variable-length sequences (TransformerEngine's THD layout,
  /// vLLM's flattened batches, flashinfer's indptr): sequence s holds tokens
  /// [cu_seqlens[s], cu_seqlens[s + 1]), `sequences + 1` entries starting at
  /// 0, non-decreasing, the last one the call's token count. Token t of
  /// sequence s is at position t - cu_seqlens[s], plus `starts[s]` when
  /// given (tokens appended to sequences that already hold starts[s]
  /// tokens: chunked prefill, speculative decoding). Checked by the call.
  template <class Cu>
  static Positions packed(const Cu* cu_seqlens, std::int64_t sequences) {
    return packed(cu_seqlens, sequences, static_cast<const std::int64_t*>(nullptr));
  }
  template <class Cu, class Start>
  static Positions packed(const Cu* cu_seqlens, std::int64_t sequences, const Start* starts) {
    static_assert(is_index_v<Cu> && is_index_v<Start>,
                  "ropekit: cu_seqlens and starts must be int32_t or int64_t");
    Positions p = batch(sequences, starts);
    detail::require(cu_seqlens != nullptr, "cu_seqlens", "nullptr",
                    "must point to sequences + 1 cumulative lengths");
    p.set_pointer(cu_seqlens, p.cu32_, p.cu64_);
    return p;
  }

  /// `tokens_per_sequence` tokens of each of `sequences` sequences, packed
  /// in sequence order: token t is at starts[t / n] + t % n (n =
  /// tokens_per_sequence). Batched decode with n tokens per sequence (n > 1
  /// for speculative decoding); for one token per sequence explicit ids
  /// `Positions(starts, sequences)` are the same thing.
  template <class Start>
  static Positions per_sequence(const Start* starts, std::int64_t sequences,
                                std::int64_t tokens_per_sequence) {
    static_assert(is_index_v<Start>, "ropekit: starts must be int32_t or int64_t");
    detail::require(tokens_per_sequence > 0, "tokens_per_sequence", tokens_per_sequence,
                    "must be positive");
    Positions p = batch(sequences, starts);
    detail::require(starts != nullptr || sequences == 0, "starts", "nullptr",
                    "must point to one start per sequence");
    std::int64_t tokens = 0;
    if (detail::mul_overflows(sequences, tokens_per_sequence, &tokens))
      detail::fail("tokens_per_sequence", tokens_per_sequence,
                   "times sequences = " + std::to_string(sequences) + " overflows int64");
    p.per_sequence_ = tokens_per_sequence;
    return p;
  }

  /// True for a start offset, false otherwise.
  bool is_range() const noexcept { return kind_ == Kind::range; }
  /// Number of ids given; -1 when any token count fits (a start offset, a
  /// constant, packed sequences before they are split with token_range).
  std::int64_t count() const noexcept { return count_; }
  int axes() const noexcept { return axes_; }
  /// The start offset, or the constant's value.
  std::int64_t start() const noexcept { return start_; }

  /// Position of `token` on `axis` (axis < axes()). No checks: hot path
  /// (packed sequences: a binary search over cu_seqlens).
  std::int64_t at(std::int64_t token, int axis = 0) const noexcept {
    switch (kind_) {
      case Kind::ids32: return ids32_[axis * axis_stride_ + token];
      case Kind::ids64: return ids64_[axis * axis_stride_ + token];
      case Kind::packed: return packed_at(token);
      default: return start_ + step_ * token;  // range (step 1) or constant (step 0)
    }
  }

  /// The positions of tokens [begin, begin + count), for calls that split
  /// the tokens of one batch across threads. No checks: pair it with the
  /// views' token_range, whose bounds are checked.
  Positions token_range(std::int64_t begin, std::int64_t count) const noexcept {
    Positions p = *this;
    switch (kind_) {
      case Kind::ids32: p.ids32_ = ids32_ + begin; p.count_ = count; break;
      case Kind::ids64: p.ids64_ = ids64_ + begin; p.count_ = count; break;
      case Kind::packed: p.token_base_ = token_base_ + begin; p.count_ = count; break;
      default: p.start_ = start_ + step_ * begin;
    }
    return p;
  }

  /// Checks every position of the first `tokens` tokens and returns the
  /// largest (over all axes). Throws naming the first bad id.
  std::int64_t validate(std::int64_t tokens) const { return check(tokens, false); }

  /// The same for position deltas (K-shift): signed values with
  /// |delta| <= max_position. Returns the largest magnitude.
  std::int64_t validate_deltas(std::int64_t tokens) const { return check(tokens, true); }

 private:
  enum class Kind { range, constant, ids32, ids64, packed };

  template <class I>
  static constexpr bool is_index_v =
      std::is_same_v<I, std::int32_t> || std::is_same_v<I, std::int64_t>;

  Positions() = default;

  void set(const std::int32_t* ids32, const std::int64_t* ids64, std::int64_t count,
           int axes) {
    set_axes(ids32, ids64, count, axes, count);
  }

  void set_axes(const std::int32_t* ids32, const std::int64_t* ids64, std::int64_t count,
                int axes, std::int64_t axis_stride) {
    detail::require(count >= 0, "positions count", count, "must not be negative");
    detail::require(axes >= 1 && axes <= kMaxAxes, "position axes", axes,
                    "must be 1, 2 or 3");
    detail::require(axis_stride >= count || axes == 1, "position axis_stride", axis_stride,
                    "must be at least the count (axes must not overlap)");
    // at() indexes up to (axes - 1) * axis_stride + count - 1.
    std::int64_t last_axis = 0, span = 0;
    if (axes > 1 && (detail::mul_overflows(axes - 1, axis_stride, &last_axis) ||
                     detail::add_overflows(last_axis, count, &span)))
      detail::fail("position axis_stride", axis_stride,
                   "times " + std::to_string(axes - 1) + " plus the count " +
                       std::to_string(count) + " overflows int64");
    if (count > 0)
      detail::require(ids32 != nullptr || ids64 != nullptr, "position ids", "nullptr",
                      "must point to memory when count > 0");
    // A null pointer with count 0 still means "explicit ids" (of no tokens).
    kind_ = ids32 != nullptr ? Kind::ids32 : Kind::ids64;
    ids32_ = ids32;
    ids64_ = ids64;
    count_ = count;
    axes_ = axes;
    axis_stride_ = axis_stride;
  }

  template <class I>
  static void set_pointer(const I* p, const std::int32_t*& p32, const std::int64_t*& p64) {
    if constexpr (std::is_same_v<I, std::int32_t>) p32 = p;
    else p64 = p;
  }

  template <class Start>
  static Positions batch(std::int64_t sequences, const Start* starts) {
    detail::require(sequences >= 0, "sequences", sequences, "must not be negative");
    detail::require(sequences < std::numeric_limits<std::int64_t>::max(), "sequences", sequences,
                    "must be below INT64_MAX (cu_seqlens has sequences + 1 entries)");
    Positions p;
    p.kind_ = Kind::packed;
    p.sequences_ = sequences;
    if (starts != nullptr) p.set_pointer(starts, p.starts32_, p.starts64_);
    return p;
  }

  // Largest s with cu[s] <= t, for 0 <= t < cu[sequences]: it is the
  // sequence holding t (empty sequences end where the next one starts).
  // Branch-free halving, log2(sequences) steps.
  template <class I>
  std::int64_t sequence_of(const I* cu, std::int64_t t) const noexcept {
    const I* base = cu;
    std::int64_t n = sequences_ + 1;
    while (n > 1) {
      const std::int64_t half = n / 2;
      base = base[half] <= t ? base + half : base;
      n -= half;
    }
    return base - cu;
  }

  std::int64_t sequence_start(std::int64_t s) const noexcept {
    if (starts32_ != nullptr) return starts32_[s];
    if (starts64_ != nullptr) return starts64_[s];
    return 0;
  }

  std::int64_t first_token(std::int64_t s) const noexcept {
    if (per_sequence_ > 0) return s * per_sequence_;
    return cu32_ != nullptr ? cu32_[s] : cu64_[s];
  }

  std::int64_t packed_at(std::int64_t token) const noexcept {
    const std::int64_t t = token + token_base_;
    const std::int64_t s = per_sequence_ > 0  ? t / per_sequence_
                           : cu32_ != nullptr ? sequence_of(cu32_, t)
                                              : sequence_of(cu64_, t);
    return sequence_start(s) + (t - first_token(s));
  }

  std::int64_t check(std::int64_t tokens, bool deltas) const;
  std::int64_t check_packed(std::int64_t tokens) const;

  Kind kind_ = Kind::range;
  const std::int32_t* ids32_ = nullptr;
  const std::int64_t* ids64_ = nullptr;
  std::int64_t start_ = 0;
  std::int64_t step_ = 1;
  std::int64_t count_ = -1;
  std::int64_t axis_stride_ = 0;
  int axes_ = 1;
  // Packed sequences: cu_seqlens (or per_sequence_ tokens each), starts,
  // and the first token of this view of the batch (token_range).
  const std::int32_t* cu32_ = nullptr;
  const std::int64_t* cu64_ = nullptr;
  const std::int32_t* starts32_ = nullptr;
  const std::int64_t* starts64_ = nullptr;
  std::int64_t sequences_ = 0;
  std::int64_t per_sequence_ = 0;
  std::int64_t token_base_ = 0;
};

inline std::int64_t Positions::check(std::int64_t tokens, bool deltas) const {
  switch (kind_) {
    case Kind::range:
      // tokens - 1 > max_position - start: no sum that could overflow.
      if (tokens > 0 && tokens - 1 > max_position - start_)
        detail::fail("start position", start_,
                     "plus " + std::to_string(tokens) +
                         " tokens exceeds max_position = 2147483647");
      return tokens > 0 ? start_ + tokens - 1 : -1;
    case Kind::constant:
      if (!deltas && start_ < 0)
        detail::fail("constant position", start_,
                     "must lie in [0, 2147483647] (a negative value is a delta, for shift)");
      if (tokens <= 0) return -1;
      return start_ < 0 ? -start_ : start_;
    case Kind::packed: return check_packed(tokens);
    default: break;
  }
  if (count_ != tokens)
    detail::fail("positions count", count_,
                 "must equal the number of tokens, " + std::to_string(tokens));
  const std::int64_t lowest = deltas ? -max_position : 0;
  std::int64_t largest = -1;
  for (int axis = 0; axis < axes_; ++axis) {
    for (std::int64_t t = 0; t < tokens; ++t) {
      const std::int64_t p = at(t, axis);
      if (p < lowest || p > max_position) {
        if (deltas)
          detail::fail(("position delta [" + std::to_string(t) + "]").c_str(), p,
                       "must lie in [-2147483647, 2147483647]");
        detail::fail(("position id [" + std::to_string(t) + "]").c_str(), p,
                     "must lie in [0, 2147483647]");
      }
      const std::int64_t magnitude = p < 0 ? -p : p;
      largest = magnitude > largest ? magnitude : largest;
    }
  }
  return largest;
}

// cu_seqlens well-formed (0 first, non-decreasing, covering the call's
// tokens), every start in [0, max_position], and every position of the
// call's tokens within [0, max_position]: O(sequences), not O(tokens), since
// positions rise by one within a sequence. Returns the largest position.
inline std::int64_t Positions::check_packed(std::int64_t tokens) const {
  const auto indexed = [](const char* what, std::int64_t s) {
    return std::string(what) + "[" + std::to_string(s) + "]";
  };
  const bool has_starts = starts32_ != nullptr || starts64_ != nullptr;
  if (per_sequence_ == 0 && first_token(0) != 0)
    detail::fail("cu_seqlens[0]", first_token(0), "must be 0 (cumulative lengths start at 0)");
  for (std::int64_t s = 0; s < sequences_; ++s) {
    if (first_token(s + 1) < first_token(s))
      detail::fail(indexed("cu_seqlens", s + 1).c_str(), first_token(s + 1),
                   "must not be below cu_seqlens[" + std::to_string(s) + "] = " +
                       std::to_string(first_token(s)) + " (cumulative lengths never decrease)");
    const std::int64_t start = sequence_start(s);
    if (start < 0 || start > max_position)
      detail::fail(indexed("sequence starts", s).c_str(), start, "must lie in [0, 2147483647]");
  }
  const std::int64_t total = first_token(sequences_);
  if (count_ < 0 && total != tokens) {
    if (per_sequence_ > 0)
      detail::fail("sequences * tokens_per_sequence", total,
                   "must equal the number of tokens, " + std::to_string(tokens));
    detail::fail(indexed("cu_seqlens", sequences_).c_str(), total,
                 "must equal the number of tokens, " + std::to_string(tokens));
  }
  if (count_ >= 0 && count_ != tokens)
    detail::fail("positions count", count_,
                 "must equal the number of tokens, " + std::to_string(tokens));
  if (count_ >= 0 && tokens > total - token_base_)
    detail::fail("positions token range begin", token_base_,
                 "plus " + std::to_string(tokens) + " tokens exceeds the packed tokens, " +
                     std::to_string(total));
  // The call's tokens [token_base_, token_base_ + tokens) of each sequence.
  std::int64_t largest = -1;
  for (std::int64_t s = 0; s < sequences_; ++s) {
    const std::int64_t begin = first_token(s);
    const std::int64_t last = std::min(first_token(s + 1), token_base_ + tokens) - 1;
    if (last < begin || last < token_base_) continue;
    const std::int64_t start = sequence_start(s);
    if (last - begin > max_position - start) {
      const std::string text = "gives sequence " + std::to_string(s) + " positions up to " +
                               std::to_string(start) + " + " + std::to_string(last - begin) +
                               ", past max_position = 2147483647";
      if (has_starts) detail::fail(indexed("sequence starts", s).c_str(), start, text);
      detail::fail(indexed("cu_seqlens", s + 1).c_str(), first_token(s + 1), text);
    }
    largest = std::max(largest, start + (last - begin));
  }
  return largest;
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_POSITIONS_HPP
