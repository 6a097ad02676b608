// SPDX-License-Identifier: Apache-2.0
// The C API's tensors as ropekit views: shared by the rotation calls
// (c_rope.cpp) and the fused ones (c_fused.cpp, c_kv.cpp), so every call
// checks and names its arguments the same way.
#ifndef ROPEKIT_SRC_C_VIEWS_HPP
#define ROPEKIT_SRC_C_VIEWS_HPP

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include <ropekit/ropekit.hpp>

#include "c_api.hpp"

namespace ropekit_c {

inline void require_handle(const void* pointer, const char* name, const char* what) {
  if (pointer == nullptr) invalid(name, "NULL", what);
}

inline void require_rope(const rk_rope* rope) {
  require_handle(rope, "rope", "must be a rope from rk_rope_create or rk_model_layer_rope");
}

// "ropekit: token_stride = ..." from a view's checks becomes
// "ropekit: q.token_stride = ...", naming the C argument.
[[noreturn]] inline void rename_failure(const std::invalid_argument& e, const char* from,
                                        const char* to) {
  std::string message = e.what();
  const std::string prefix = "ropekit: ";
  if (message.compare(0, prefix.size(), prefix) == 0) {
    if (from == nullptr)
      message.insert(prefix.size(), std::string(to) + ".");
    else if (message.compare(prefix.size(), std::strlen(from), from) == 0)
      message.replace(prefix.size(), std::strlen(from), to);
  }
  throw std::invalid_argument(message);
}

template <class T>
ropekit::HeadView<T> view_of(const rk_tensor& t, int64_t tokens, const char* name) {
  try {
    return ropekit::HeadView<T>(static_cast<T*>(t.data), tokens, t.heads, t.head_dim,
                                t.token_stride, t.head_stride);
  } catch (const std::invalid_argument& e) {
    rename_failure(e, nullptr, name);
  }
}

// q, k, v and keys: float, bfloat16 or half (FP8 only in a cache, which
// carries the scale).
inline void check_dtype(const rk_tensor& t, const char* name) {
  const int dtype = raw(t.dtype);
  if (dtype != RK_DTYPE_F32 && dtype != RK_DTYPE_BF16 && dtype != RK_DTYPE_F16)
    invalid(std::string(name) + ".dtype", std::to_string(dtype),
            "must be RK_DTYPE_F32 (0), RK_DTYPE_BF16 (1) or RK_DTYPE_F16 (2) (FP8 is a cache "
            "type only)");
}

inline void check_tokens(int64_t tokens) {
  if (tokens < 0) invalid("tokens", std::to_string(tokens), "must not be negative");
}

inline ropekit::Positions positions_of(int64_t tokens, int64_t start_position,
                                       const int64_t* position_ids) {
  if (position_ids != nullptr && start_position != 0)
    invalid("start_position", std::to_string(start_position),
            "must be 0 when position_ids is given");
  return position_ids != nullptr ? ropekit::Positions(position_ids, tokens)
                                 : ropekit::Positions::starting_at(start_position);
}

// f(T{}) with T the element type of `dtype` (already checked).
template <class F>
void with_dtype(int dtype, F&& f) {
  switch (dtype) {
    case RK_DTYPE_F32: f(float{}); break;
    case RK_DTYPE_BF16: f(Eigen::bfloat16{}); break;
    case RK_DTYPE_F16: f(Eigen::half{}); break;
    default: invalid("dtype", std::to_string(dtype), "must be checked before dispatch");
  }
}

}  // namespace ropekit_c

#endif  // ROPEKIT_SRC_C_VIEWS_HPP
