// SPDX-License-Identifier: Apache-2.0
// The C API's ropes: built from explicit parameters, described, applied.
#include <cstring>
#include <string>

#include <ropekit/ropekit.hpp>

#include "c_api.hpp"
#include "c_views.hpp"

namespace ropekit_c {
namespace {

using ropekit::AnyPolicy;
using ropekit::AnyRope;
using ropekit::HeadView;
using ropekit::Positions;
namespace scaling = ropekit::scaling;

ropekit::Layout layout_of(int layout, const char* name) {
  switch (layout) {
    case RK_LAYOUT_HALF_SPLIT: return ropekit::Layout::half_split;
    case RK_LAYOUT_INTERLEAVED: return ropekit::Layout::interleaved;
  }
  invalid(name, std::to_string(layout),
          "must be RK_LAYOUT_HALF_SPLIT (0) or RK_LAYOUT_INTERLEAVED (1)");
}

scaling::LongRope::Params longrope_params(const rk_rope_params& p) {
  scaling::LongRope::Params out;
  const int64_t count = p.factor_count;
  if (count < 0) invalid("factor_count", std::to_string(count), "must not be negative");
  if (count > 0 && p.short_factor == nullptr)
    invalid("short_factor", "NULL", "must point to factor_count doubles");
  if (count > 0 && p.long_factor == nullptr)
    invalid("long_factor", "NULL", "must point to factor_count doubles");
  out.short_factor.assign(p.short_factor, p.short_factor + count);
  out.long_factor.assign(p.long_factor, p.long_factor + count);
  out.original_max_position_embeddings = p.original_max_position_embeddings;
  out.max_position_embeddings = p.max_position_embeddings;
  out.base = p.base;
  if (p.factor != 0.0) out.factor = p.factor;
  if (p.attention_factor != 0.0) out.attention_factor = p.attention_factor;
  const int selection = raw(p.longrope_selection);
  switch (selection) {
    case RK_LONGROPE_PER_CALL: out.selection = scaling::LongRope::Selection::per_call; break;
    case RK_LONGROPE_ALWAYS_SHORT: out.selection = scaling::LongRope::Selection::always_short; break;
    case RK_LONGROPE_ALWAYS_LONG: out.selection = scaling::LongRope::Selection::always_long; break;
    default:
      invalid("longrope_selection", std::to_string(selection),
              "must be RK_LONGROPE_PER_CALL, RK_LONGROPE_ALWAYS_SHORT or RK_LONGROPE_ALWAYS_LONG");
  }
  return out;
}

AnyPolicy policy_of(const rk_rope_params& p) {
  const int policy = raw(p.policy);
  switch (policy) {
    case RK_POLICY_DEFAULT: return scaling::Default(p.base);
    case RK_POLICY_FIXED_BASE: return scaling::FixedBase(p.base, p.pretrained_base);
    case RK_POLICY_LINEAR: return scaling::Linear(p.factor, p.base);
    case RK_POLICY_NTK_AWARE: return scaling::NtkAware(p.factor, p.base);
    case RK_POLICY_DYNAMIC_NTK:
      return scaling::DynamicNtk(p.factor, p.max_position_embeddings, p.base);
    case RK_POLICY_YARN: {
      scaling::Yarn::Params y;
      y.factor = p.factor;
      y.original_max_position_embeddings = p.original_max_position_embeddings;
      y.base = p.base;
      y.beta_fast = p.beta_fast;
      y.beta_slow = p.beta_slow;
      y.truncate = p.truncate != 0;
      y.mscale = p.mscale;
      y.mscale_all_dim = p.mscale_all_dim;
      if (p.attention_factor != 0.0) y.attention_factor = p.attention_factor;
      return scaling::Yarn(y);
    }
    case RK_POLICY_LLAMA3:
      return scaling::Llama3(p.factor, p.low_freq_factor, p.high_freq_factor,
                             p.original_max_position_embeddings, p.base);
    case RK_POLICY_LONGROPE: return scaling::LongRope(longrope_params(p));
    case RK_POLICY_PROPORTIONAL:
      return scaling::Proportional(p.partial_rotary_factor, p.base, p.factor);
  }
  invalid("policy", std::to_string(policy),
          "must be an rk_policy value (RK_POLICY_DEFAULT .. RK_POLICY_PROPORTIONAL)");
}

// Which rotation a call applies: forward, its inverse, or its gradient.
enum class Direction { forward, inverse, backward };

struct TensorNames {
  const char* q;
  const char* k;
};

TensorNames names_of(Direction direction) {
  return direction == Direction::backward ? TensorNames{"grad_q", "grad_k"} : TensorNames{"q", "k"};
}

// One tensor, in place; the C++ one-tensor calls name it "x." or "grad.".
template <class T>
void rotate_one(const AnyRope& rope, Direction direction, HeadView<T> x, const char* name,
                const Positions& positions) {
  try {
    switch (direction) {
      case Direction::forward: return rope.apply_q(x, positions);
      case Direction::inverse: return rope.apply_inverse(x, positions);
      case Direction::backward: return rope.apply_backward(x, positions);
    }
  } catch (const std::invalid_argument& e) {
    rename_failure(e, direction == Direction::backward ? "grad." : "x.",
                   (std::string(name) + ".").c_str());
  }
}

template <class T>
void rotate(const AnyRope& rope, Direction direction, int64_t tokens, const rk_tensor* q,
            const rk_tensor* k, const Positions& positions) {
  const TensorNames names = names_of(direction);
  if (q != nullptr && k != nullptr) {
    const HeadView<T> qv = view_of<T>(*q, tokens, names.q);
    const HeadView<T> kv = view_of<T>(*k, tokens, names.k);
    switch (direction) {
      case Direction::forward: return rope.apply(qv, kv, positions);
      case Direction::inverse: return rope.apply_inverse(qv, kv, positions);
      case Direction::backward: return rope.apply_backward(qv, kv, positions);
    }
  } else if (q != nullptr) {
    rotate_one(rope, direction, view_of<T>(*q, tokens, names.q), names.q, positions);
  } else if (direction == Direction::forward) {
    rope.apply_k(view_of<T>(*k, tokens, names.k), positions);
  } else {
    rotate_one(rope, direction, view_of<T>(*k, tokens, names.k), names.k, positions);
  }
}

rk_status apply(const rk_rope* rope, Direction direction, int64_t tokens, const rk_tensor* q,
                const rk_tensor* k, int64_t start_position, const int64_t* position_ids) {
  return guarded(rope == nullptr ? nullptr : &rope->error, [&] {
    require_rope(rope);
    const TensorNames names = names_of(direction);
    if (q == nullptr && k == nullptr)
      invalid(names.q, "NULL",
              std::string(names.q) + " and " + names.k + " are both NULL: pass at least one tensor");
    check_tokens(tokens);
    if (q != nullptr) check_dtype(*q, names.q);
    if (k != nullptr) check_dtype(*k, names.k);
    if (q != nullptr && k != nullptr && raw(q->dtype) != raw(k->dtype))
      invalid(std::string(names.k) + ".dtype", std::to_string(raw(k->dtype)),
              "must equal " + std::string(names.q) + ".dtype = " + std::to_string(raw(q->dtype)) +
                  " (both rotate in one call)");
    const Positions positions = positions_of(tokens, start_position, position_ids);
    with_dtype(raw((q != nullptr ? q : k)->dtype), [&](auto element) {
      rotate<decltype(element)>(rope->rope, direction, tokens, q, k, positions);
    });
    return RK_OK;
  });
}

}  // namespace
}  // namespace ropekit_c

extern "C" {

rk_status rk_rope_params_init(rk_rope_params* params, rk_policy policy, int64_t head_dim) {
  using namespace ropekit_c;
  return guarded(nullptr, [&] {
    require_handle(params, "params", "must point to an rk_rope_params");
    rk_rope_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof(rk_rope_params);
    std::memcpy(&p.policy, &policy, sizeof policy);
    p.layout = RK_LAYOUT_HALF_SPLIT;
    p.head_dim = head_dim;
    p.base = 10000.0;
    p.factor = raw(policy) == RK_POLICY_LONGROPE ? 0.0 : 1.0;
    p.pretrained_base = 10000.0;
    p.low_freq_factor = 1.0;
    p.high_freq_factor = 4.0;
    p.beta_fast = 32.0;
    p.beta_slow = 1.0;
    p.truncate = 1;
    p.longrope_selection = RK_LONGROPE_PER_CALL;
    p.partial_rotary_factor = 1.0;
    *params = p;
    return RK_OK;
  });
}

rk_status rk_rope_create(const rk_rope_params* params, rk_rope** out) {
  using namespace ropekit_c;
  return guarded(nullptr, [&] {
    require_handle(params, "params", "must point to an rk_rope_params");
    require_handle(out, "out", "must point to where the rope is stored");
    if (params->struct_size != sizeof(rk_rope_params))
      invalid("params.struct_size", std::to_string(params->struct_size),
              "must be sizeof(rk_rope_params) = " + std::to_string(sizeof(rk_rope_params)) +
                  " (fill it with rk_rope_params_init; header and library must match)");
    const rk_rope_params& p = *params;
    const ropekit::Layout layout = layout_of(raw(p.layout), "layout");
    const ropekit::RotaryDims dims(p.head_dim, p.rotary_dim == 0 ? p.head_dim : p.rotary_dim,
                                   p.rotary_offset);
    auto rope = std::make_unique<rk_rope>(AnyRope(dims, layout, policy_of(p)), nullptr);
    *out = rope.release();
    return RK_OK;
  });
}

rk_status rk_rope_destroy(rk_rope* rope) {
  using namespace ropekit_c;
  return guarded(rope == nullptr ? nullptr : &rope->error, [&] {
    if (rope == nullptr) return RK_OK;
    if (rope->owner != nullptr)
      invalid("rope", "a model's layer rope",
              "belongs to its model: rk_model_destroy frees it");
    delete rope;
    return RK_OK;
  });
}

rk_status rk_rope_describe(const rk_rope* rope, rk_rope_info* out) {
  using namespace ropekit_c;
  return guarded(rope == nullptr ? nullptr : &rope->error, [&] {
    require_rope(rope);
    require_handle(out, "out", "must point to an rk_rope_info");
    const AnyRope& r = rope->rope;
    const ropekit::FrequencyTable table = r.table();
    rk_rope_info info;
    info.head_dim = r.dims().head_dim();
    info.rotary_dim = r.dims().rotary_dim();
    info.rotary_offset = r.dims().offset();
    info.layout = r.layout() == ropekit::Layout::half_split ? RK_LAYOUT_HALF_SPLIT
                                                             : RK_LAYOUT_INTERLEAVED;
    info.policy_name = r.policy_name();
    info.attention_factor = table.attention_factor();
    info.length_dependent = r.length_dependent() ? 1 : 0;
    info.position_axes = table.axes();
    *out = info;
    return RK_OK;
  });
}

rk_status rk_rope_inv_freq(const rk_rope* rope, double* out, int64_t capacity, int64_t* count) {
  using namespace ropekit_c;
  return guarded(rope == nullptr ? nullptr : &rope->error, [&] {
    require_rope(rope);
    require_handle(count, "count", "must point to an int64_t");
    if (capacity < 0) invalid("capacity", std::to_string(capacity), "must not be negative");
    if (capacity > 0 && out == nullptr) invalid("out", "NULL", "must hold capacity doubles");
    const std::vector<double> inv_freq = rope->rope.inv_freq();
    const auto pairs = static_cast<int64_t>(inv_freq.size());
    const int64_t copied = capacity < pairs ? capacity : pairs;
    for (int64_t j = 0; j < copied; ++j) out[j] = inv_freq[static_cast<std::size_t>(j)];
    *count = pairs;
    return RK_OK;
  });
}

rk_status rk_rope_apply(const rk_rope* rope, int64_t tokens, const rk_tensor* q,
                        const rk_tensor* k, int64_t start_position,
                        const int64_t* position_ids) {
  return ropekit_c::apply(rope, ropekit_c::Direction::forward, tokens, q, k, start_position, position_ids);
}

rk_status rk_rope_apply_inverse(const rk_rope* rope, int64_t tokens, const rk_tensor* q,
                                const rk_tensor* k, int64_t start_position,
                                const int64_t* position_ids) {
  return ropekit_c::apply(rope, ropekit_c::Direction::inverse, tokens, q, k, start_position, position_ids);
}

}  // extern "C"

extern "C" rk_status rk_rope_apply_backward(const rk_rope* rope, int64_t tokens,
                                           const rk_tensor* grad_q, const rk_tensor* grad_k,
                                           int64_t start_position, const int64_t* position_ids) {
  return ropekit_c::apply(rope, ropekit_c::Direction::backward, tokens, grad_q, grad_k,
                          start_position, position_ids);
}
