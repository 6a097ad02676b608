// SPDX-License-Identifier: Apache-2.0
// Dynamic NTK scaling (emozilla, 2023; transformers `rope_type: "dynamic"`):
// the NTK base grows with the sequence once it passes the trained length.
#ifndef ROPEKIT_SCALING_DYNAMIC_NTK_HPP
#define ROPEKIT_SCALING_DYNAMIC_NTK_HPP

#include <cmath>
#include <cstdint>

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../version.hpp"
#include "default.hpp"
#include "ntk_aware.hpp"

#include "../detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace scaling {

/// transformers' dynamic NTK, including its update rule:
///
/// * frequencies for a length ℓ = max(state, L), L = max_position_embeddings:
///   base' = base * (factor*ℓ/L - (factor-1))^(d/(d-2)) (= base at ℓ <= L);
/// * each call sees seq_len = largest position + 1; the state grows to
///   seq_len when seq_len exceeds it, and resets to L when seq_len drops
///   below L after having grown (transformers PRs #27033/#27227).
///
/// KV-cache caveat: keys cached before the base grew keep the old rotation
/// (transformers #25104). Engines that want every cached key on the current
/// base move them in one pass with `retable(old_table, new_table, dims,
/// keys, positions)` (retable.hpp), both tables from `Rope::table_for(length)`
/// or `Rope::table()`, which touch no state. Not with `Rope::apply`: it
/// updates the state from the positions it is given, so passing old keys
/// through it (all below max_position_embeddings) resets the base. To pin
/// one base per sequence, keep a `table_for` table per sequence and rotate
/// with `rotate`. vLLM instead fixes one base per deployment; use `NtkAware`
/// or `FixedBase` for that behaviour.
class DynamicNtk {
 public:
  static constexpr const char* name = "dynamic";
  /// The sequence length the current frequencies were computed for.
  using state_type = std::int64_t;

  DynamicNtk(double factor, std::int64_t max_position_embeddings, double base = 10000.0)
      : factor_(factor), max_position_embeddings_(max_position_embeddings), base_(base) {
    detail::require_positive_finite("factor", factor);
    detail::require(max_position_embeddings > 0, "max_position_embeddings",
                    max_position_embeddings, "must be positive");
    detail::require_positive_finite("base", base);
  }

  double factor() const noexcept { return factor_; }
  double base() const noexcept { return base_; }
  std::int64_t max_position_embeddings() const noexcept { return max_position_embeddings_; }

  state_type initial_state() const noexcept { return max_position_embeddings_; }

  /// transformers' `dynamic_rope_update` rule.
  state_type next_state(state_type current, std::int64_t seq_len) const noexcept {
    if (seq_len > current) return seq_len;
    if (seq_len < max_position_embeddings_ && current > max_position_embeddings_)
      return max_position_embeddings_;
    return current;
  }

  /// The NTK base for a sequence of `length` tokens.
  long double scaled_base(const RotaryDims& dims, std::int64_t length) const {
    const long double exponent = detail::ntk_exponent(dims, name);
    const long double trained = static_cast<long double>(max_position_embeddings_);
    const long double seen = static_cast<long double>(
        length > max_position_embeddings_ ? length : max_position_embeddings_);
    const long double s = static_cast<long double>(factor_);
    // s·ℓ/L - (s-1) written as 1 + s·(ℓ-L)/L: exactly 1 at ℓ = L and never
    // below it, where the textbook form cancels to 0 or less for huge s.
    return static_cast<long double>(base_) *
           std::pow(1.0L + s * (seen - trained) / trained, exponent);
  }

  /// The frequencies at `length` as a geometric correction of those at the
  /// trained length: base'^(-2j/d) = base^(-2j/d) · x^(-2j/(d-2)), so
  /// ω_j(ℓ) = ω_j(L) · x^(-j/k) with x = 1 + s·(ℓ-L)/L and k = (d-2)/2. A
  /// Rope builds a decode step's table from it with a root and a few dozen
  /// double-double vector operations instead of a powl per pair;
  /// `frequencies` stays the definition the tests compare it with.
  struct GeometricStep {
    long double x;
    std::int64_t root;
  };
  GeometricStep geometric_step(const RotaryDims& dims, state_type length) const {
    (void)detail::ntk_exponent(dims, name);  // rotary_dim >= 4, so root >= 1
    const long double trained = static_cast<long double>(max_position_embeddings_);
    const long double seen = static_cast<long double>(
        length > max_position_embeddings_ ? length : max_position_embeddings_);
    return {1.0L + static_cast<long double>(factor_) * (seen - trained) / trained,
            (dims.rotary_dim() - 2) / 2};
  }

  /// The base only grows with the length, so frequencies only shrink: a
  /// table that is in range at the trained length is in range at any length.
  Frequencies frequencies(const RotaryDims& dims, state_type length) const {
    Frequencies f = detail::default_frequencies(scaled_base(dims, length), dims);
    detail::require_scaled_inv_freq_in_range(f, base_, dims, "factor", factor_);
    return f;
  }

 private:
  double factor_;
  std::int64_t max_position_embeddings_;
  double base_;
};

}  // namespace scaling
ROPEKIT_END_NAMESPACE

#include "../detail/macros_end.inl"

#endif  // ROPEKIT_SCALING_DYNAMIC_NTK_HPP
