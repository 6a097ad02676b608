// SPDX-License-Identifier: Apache-2.0
// The README's usage example, compiled and run by the build so it stays true.
#include <ropekit/ropekit.hpp>
#include <vector>

int main() {
  using namespace ropekit;
  // Llama-3.1-8B attention: 32 query heads, 8 KV heads, head_dim 128, base 5e5.
  const std::int64_t tokens = 16, q_heads = 32, kv_heads = 8, head_dim = 128;
  std::vector<float> q(tokens * q_heads * head_dim, 1.0f);
  std::vector<float> k(tokens * kv_heads * head_dim, 1.0f);

  // Linear position interpolation by 4; the layout defaults to half-split (neox).
  Rope<scaling::Linear> rope(RotaryDims(head_dim), scaling::Linear(4.0, 500000.0));

  // q and k rotate together: cos/sin are formed once per token for all 40 heads.
  rope.apply(token_major_view(q.data(), tokens, q_heads, head_dim),
             token_major_view(k.data(), tokens, kv_heads, head_dim),
             Positions::starting_at(1024));  // tokens at positions 1024..1039
  return 0;
}
