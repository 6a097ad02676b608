// SPDX-License-Identifier: Apache-2.0
// The README's KV-cache example, compiled and run by the build so it stays true.
#include <ropekit/ropekit.hpp>
#include <vector>

int main() {
  using namespace ropekit;
  // Llama-3.1-8B attention, one layer's paged cache in FP8 (E4M3): 64 pages of
  // 16 slots, NHD [pages, page_size, kv_heads, head_dim] as vLLM lays it out.
  const std::int64_t q_heads = 32, kv_heads = 8, head_dim = 128, pages = 64, page_size = 16;
  std::vector<float8_e4m3fn> k_cache(pages * page_size * kv_heads * head_dim);
  std::vector<float8_e4m3fn> v_cache(k_cache.size());
  const auto cache = PagedKvCache<float8_e4m3fn>(k_cache.data(), v_cache.data(), pages,
                                                 page_size, kv_heads, head_dim, KvLayout::nhd)
                         .with_scales(/*k_scale=*/0.05f, /*v_scale=*/0.05f);  // stored = fp8(x / scale)
  Rope<scaling::Llama3> rope(RotaryDims(head_dim), scaling::Llama3::llama3_1());

  // Prefill of one sequence, 20 tokens at positions 0..19, its pages from a
  // block table: position p goes to row p % 16 of page block_table[p / 16].
  std::int64_t n = 20;
  std::vector<float> q(n * q_heads * head_dim, 0.5f), k(n * kv_heads * head_dim, 0.5f), v = k;
  const std::int32_t block_table[2] = {7, 3};
  append_kv(rope, token_major_view(q.data(), n, q_heads, head_dim),
            token_major_view(k.data(), n, kv_heads, head_dim),
            token_major_view(v.data(), n, kv_heads, head_dim), cache,
            KvSlots::block_table(block_table, 2), Positions::starting_at(0));

  // One decode step of two sequences: explicit slots (vLLM's slot_mapping,
  // page * page_size + row) and positions; no slot may appear twice.
  n = 2;
  const std::int64_t slot_mapping[2] = {3 * page_size + 4, 12 * page_size + 0};
  const std::int64_t positions[2] = {20, 1000};
  append_kv(rope, token_major_view(q.data(), n, q_heads, head_dim),
            token_major_view(k.data(), n, kv_heads, head_dim),
            token_major_view(v.data(), n, kv_heads, head_dim), cache,
            KvSlots::slot_mapping(slot_mapping, n), Positions(positions, n));

  // Read a page back in float (to check it, or to re-rotate its keys).
  std::vector<float> page(page_size * kv_heads * head_dim);
  convert(cache.k_page(7), token_major_view(page.data(), page_size, kv_heads, head_dim));
  const bool stored = page[0] == 0.5f;  // position 0 does not rotate: 0.5 / 0.05 = code 10

  // Rotate into another buffer and type, leaving the source as it was.
  std::vector<Eigen::bfloat16> k_rotated(k.size());
  rotate_into(rope, token_major_view(k.data(), n, kv_heads, head_dim),
              token_major_view(k_rotated.data(), n, kv_heads, head_dim), Positions(positions, n));
  return stored ? 0 : 1;
}
