// SPDX-License-Identifier: Apache-2.0
// The C API's fused in-place calls: K-shift of cached keys and QK-norm
// fused with the rotation (the KV-cache append is in c_kv.cpp).
#include <cstring>
#include <string>

#include <ropekit/ropekit.hpp>

#include "c_api.hpp"
#include "c_views.hpp"

namespace ropekit_c {
namespace {

using ropekit::HeadView;
using ropekit::NormWeights;
using ropekit::Positions;

template <class T>
void normalise_and_rotate(const rk_rope& rope, int64_t tokens, const rk_tensor* q,
                          const rk_tensor* k, const rk_qk_norm& norm, const Positions& positions) {
  const ropekit::AnyRope& r = rope.rope;
  const int64_t head_dim = r.dims().head_dim();
  const ropekit::NormWeight kind =
      norm.one_plus != 0 ? ropekit::NormWeight::one_plus : ropekit::NormWeight::multiply;
  if (q != nullptr && k != nullptr) {
    ropekit::QkNorm n;
    n.q_weight = NormWeights(norm.q_weight, head_dim);
    n.k_weight = NormWeights(norm.k_weight, head_dim);
    n.eps = norm.eps;
    n.kind = kind;
    return ropekit::apply_qk_norm(r, view_of<T>(*q, tokens, "q"), view_of<T>(*k, tokens, "k"),
                                  positions, n);
  }
  const bool is_q = q != nullptr;
  ropekit::HeadNorm n;
  n.weight = NormWeights(is_q ? norm.q_weight : norm.k_weight, head_dim);
  n.eps = norm.eps;
  n.kind = kind;
  try {
    ropekit::apply_head_norm(r, view_of<T>(is_q ? *q : *k, tokens, is_q ? "q" : "k"), positions,
                             n);
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    if (message.compare(0, 20, "ropekit: norm.weight") == 0)
      rename_failure(e, "norm.weight", is_q ? "norm.q_weight" : "norm.k_weight");
    rename_failure(e, "x.", is_q ? "q." : "k.");
  }
}

}  // namespace
}  // namespace ropekit_c

extern "C" {

rk_status rk_rope_shift_keys(const rk_rope* rope, int64_t tokens, const rk_tensor* keys,
                             int64_t delta, const int64_t* deltas) {
  using namespace ropekit_c;
  return guarded(rope == nullptr ? nullptr : &rope->error, [&] {
    require_rope(rope);
    require_handle(keys, "keys", "must point to an rk_tensor");
    check_tokens(tokens);
    check_dtype(*keys, "keys");
    if (deltas != nullptr && delta != 0)
      invalid("delta", std::to_string(delta), "must be 0 when deltas is given");
    if (deltas == nullptr && (delta < -ropekit::max_position || delta > ropekit::max_position))
      invalid("delta", std::to_string(delta),
              "must lie in [-(2^31 - 1), 2^31 - 1] (one rotation's angle range)");
    const Positions shifts = deltas != nullptr ? Positions(deltas, tokens) : Positions::constant(delta);
    with_dtype(raw(keys->dtype), [&](auto element) {
      using T = decltype(element);
      ropekit::shift_keys(rope->rope, view_of<T>(*keys, tokens, "keys"), shifts);
    });
    return RK_OK;
  });
}

rk_status rk_qk_norm_init(rk_qk_norm* norm) {
  using namespace ropekit_c;
  return guarded(nullptr, [&] {
    require_handle(norm, "norm", "must point to an rk_qk_norm");
    rk_qk_norm n;
    std::memset(&n, 0, sizeof n);
    n.struct_size = sizeof(rk_qk_norm);
    n.eps = 1e-6;
    *norm = n;
    return RK_OK;
  });
}

rk_status rk_rope_apply_qk_norm(const rk_rope* rope, int64_t tokens, const rk_tensor* q,
                                const rk_tensor* k, const rk_qk_norm* norm,
                                int64_t start_position, const int64_t* position_ids) {
  using namespace ropekit_c;
  return guarded(rope == nullptr ? nullptr : &rope->error, [&] {
    require_rope(rope);
    require_handle(norm, "norm", "must point to an rk_qk_norm");
    if (norm->struct_size != sizeof(rk_qk_norm))
      invalid("norm.struct_size", std::to_string(norm->struct_size),
              "must be sizeof(rk_qk_norm) = " + std::to_string(sizeof(rk_qk_norm)) +
                  " (fill it with rk_qk_norm_init; header and library must match)");
    if (q == nullptr && k == nullptr)
      invalid("q", "NULL", "q and k are both NULL: pass at least one tensor");
    check_tokens(tokens);
    if (q != nullptr) check_dtype(*q, "q");
    if (k != nullptr) check_dtype(*k, "k");
    if (q != nullptr && k != nullptr && raw(q->dtype) != raw(k->dtype))
      invalid("k.dtype", std::to_string(raw(k->dtype)),
              "must equal q.dtype = " + std::to_string(raw(q->dtype)) +
                  " (q and k rotate in one call)");
    const Positions positions = positions_of(tokens, start_position, position_ids);
    with_dtype(raw((q != nullptr ? q : k)->dtype), [&](auto element) {
      normalise_and_rotate<decltype(element)>(*rope, tokens, q, k, *norm, positions);
    });
    return RK_OK;
  });
}

}  // extern "C"
