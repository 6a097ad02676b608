/* SPDX-License-Identifier: Apache-2.0 */
/* ropekit from C: load a model's RoPE from its config.json, rotate q and k
   (float32 and bfloat16) for a prefill and a decode step, append a step to
   a paged bfloat16 KV cache, shift the cached keys (context shift), and
   read errors as text. Usage: c_quickstart [config.json] (default: Llama-3.1-8B's). */
#include <ropekit/ropekit.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ROPEKIT_EXAMPLE_CONFIG
#define ROPEKIT_EXAMPLE_CONFIG "tests/data/llama-3.1-8b.json"
#endif

/* Prints the message and leaves when a call fails. */
static void check(rk_status status, const char* call) {
  if (status < 0) {
    fprintf(stderr, "%s failed (%s): %s\n", call, rk_status_name(status), rk_last_error());
    exit(1);
  }
}

static uint16_t bf16_from_float(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16); /* nearest even */
}

static float bf16_to_float(uint16_t b) {
  const uint32_t u = (uint32_t)b << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* One engine step into a paged bfloat16 cache (vLLM's NHD layout), then a
   context shift: the first 8 tokens are evicted, so the 8 cached at
   positions 16..23 move to 8..15 without being recomputed. */
static void paged_cache(const rk_rope* rope, int64_t q_heads, int64_t kv_heads, int64_t head_dim) {
  enum { kPages = 4, kPageSize = 16, kStep = 8 };
  const int64_t block_table[2] = {3, 1}; /* this sequence's pages */
  const int64_t row = kv_heads * head_dim, elements = kPages * kPageSize * row;
  uint16_t* q = calloc((size_t)(kStep * q_heads * head_dim), sizeof *q);
  uint16_t* k = calloc((size_t)(kStep * row), sizeof *k);
  uint16_t* v = calloc((size_t)(kStep * row), sizeof *v);
  uint16_t* k_cache = calloc((size_t)elements, sizeof *k_cache);
  uint16_t* v_cache = calloc((size_t)elements, sizeof *v_cache);
  int64_t fresh_positions[kStep], i;
  rk_tensor qt, kt, vt, keys;
  rk_kv_cache cache;
  int same = 1;
  if (q == NULL || k == NULL || v == NULL || k_cache == NULL || v_cache == NULL) exit(1);
  for (i = 0; i < kStep * q_heads * head_dim; ++i) q[i] = bf16_from_float(0.5f);
  for (i = 0; i < kStep * row; ++i) k[i] = bf16_from_float((float)(i % 7) - 3.0f);
  for (i = 0; i < kStep * row; ++i) v[i] = bf16_from_float(0.25f);
  qt.data = q;
  qt.dtype = RK_DTYPE_BF16;
  qt.heads = q_heads;
  qt.head_dim = head_dim;
  qt.token_stride = q_heads * head_dim;
  qt.head_stride = head_dim;
  kt = qt;
  kt.data = k;
  kt.heads = kv_heads;
  kt.token_stride = row;
  vt = kt;
  vt.data = v;
  check(rk_kv_cache_init(&cache), "rk_kv_cache_init");
  cache.k = k_cache;
  cache.v = v_cache;
  cache.dtype = RK_DTYPE_BF16;
  cache.pages = kPages;
  cache.page_size = kPageSize;
  cache.kv_heads = kv_heads;
  cache.head_dim = head_dim;
  cache.layout = RK_KV_NHD;
  /* Positions 16..23: block 1 of the table, page 1, rows 0..7. q is
     rotated in place; k rotated and v go into the cache. */
  check(rk_rope_append_kv(rope, kStep, &qt, &kt, &vt, &cache, NULL, block_table, 2, 16, NULL),
        "rk_rope_append_kv");
  printf("appended %d tokens at positions 16..23 to page %lld of a bf16 cache\n", kStep,
         (long long)block_table[1]);

  /* The cached keys of page 1 as a tensor (NHD: rows of kv_heads heads). */
  keys = kt;
  keys.data = k_cache + block_table[1] * kPageSize * row;
  check(rk_rope_shift_keys(rope, kStep, &keys, -8, NULL), "rk_rope_shift_keys");
  /* The same keys rotated afresh at 8..15 agree to a bfloat16 rounding. */
  for (i = 0; i < kStep; ++i) fresh_positions[i] = 8 + i;
  check(rk_rope_apply(rope, kStep, NULL, &kt, 0, fresh_positions), "rk_rope_apply (fresh)");
  for (i = 0; i < kStep * row; ++i) {
    const float a = bf16_to_float(k[i]), b = bf16_to_float(((const uint16_t*)keys.data)[i]);
    if (fabsf(a - b) > 0.01f * (fabsf(a) + 1.0f)) same = 0;
  }
  printf("K-shift by -8 matches a fresh rotation at 8..15: %s\n", same ? "yes" : "no");
  free(q);
  free(k);
  free(v);
  free(k_cache);
  free(v_cache);
}

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : ROPEKIT_EXAMPLE_CONFIG;
  const int64_t q_heads = 32, kv_heads = 8, prefill = 16;
  rk_model* model = NULL;
  const rk_rope* rope = NULL;
  rk_rope_info info;
  int64_t layers = 0, head_dim, layer, i;
  float* q;
  float* k;
  uint16_t* k_cache_row;
  rk_tensor qt, kt, kbt;
  int64_t decode_positions[2];

  printf("ropekit %s (header %d)\n", rk_version_string(), RK_VERSION);
  check(rk_model_load(path, &model), "rk_model_load");
  check(rk_model_layer_count(model, &layers), "rk_model_layer_count");
  /* Engines look the rope up per layer: some models skip RoPE in some. */
  for (layer = 0; layer < layers && rope == NULL; ++layer)
    check(rk_model_layer_rope(model, layer, &rope), "rk_model_layer_rope");
  if (rope == NULL) {
    printf("%s: no layer applies RoPE\n", path);
    return 0;
  }
  check(rk_rope_describe(rope, &info), "rk_rope_describe");
  printf("%s: %lld layers; %s, head_dim %lld, rotary_dim %lld, %s, attention factor %g\n", path,
         (long long)layers, info.policy_name, (long long)info.head_dim,
         (long long)info.rotary_dim,
         info.layout == RK_LAYOUT_HALF_SPLIT ? "half-split" : "interleaved",
         info.attention_factor);

  /* Prefill: 16 tokens at positions 0..15, q and k token-major float32. */
  head_dim = info.head_dim;
  q = calloc((size_t)(prefill * q_heads * head_dim), sizeof *q);
  k = calloc((size_t)(prefill * kv_heads * head_dim), sizeof *k);
  k_cache_row = calloc((size_t)(2 * kv_heads * head_dim), sizeof *k_cache_row);
  if (q == NULL || k == NULL || k_cache_row == NULL) return 1;
  for (i = 0; i < prefill * q_heads * head_dim; ++i) q[i] = 1.0f;
  for (i = 0; i < prefill * kv_heads * head_dim; ++i) k[i] = 1.0f;
  qt.data = q;
  qt.dtype = RK_DTYPE_F32;
  qt.heads = q_heads;
  qt.head_dim = head_dim;
  qt.token_stride = q_heads * head_dim;
  qt.head_stride = head_dim;
  kt = qt;
  kt.data = k;
  kt.heads = kv_heads;
  kt.token_stride = kv_heads * head_dim;
  check(rk_rope_apply(rope, prefill, &qt, &kt, 0, NULL), "rk_rope_apply (prefill)");
  printf("prefill: q[token 15, head 0, channel 0..1] = %.6f %.6f\n",
         q[15 * q_heads * head_dim], q[15 * q_heads * head_dim + 1]);

  /* Decode for two sequences at once, keys in bfloat16, explicit positions. */
  for (i = 0; i < 2 * kv_heads * head_dim; ++i) k_cache_row[i] = bf16_from_float(1.0f);
  decode_positions[0] = 16;
  decode_positions[1] = 100000;
  kbt = kt;
  kbt.data = k_cache_row;
  kbt.dtype = RK_DTYPE_BF16;
  check(rk_rope_apply(rope, 2, NULL, &kbt, 0, decode_positions), "rk_rope_apply (decode)");
  printf("decode: bf16 k bits at position 100000, channel 0: 0x%04x\n",
         (unsigned)k_cache_row[kv_heads * head_dim]);

  paged_cache(rope, q_heads, kv_heads, head_dim);

  /* Errors come back as a status and a message naming the parameter. */
  kbt.head_stride = 1;
  if (rk_rope_apply(rope, 2, NULL, &kbt, 0, decode_positions) == RK_ERR_INVALID_ARGUMENT)
    printf("bad stride rejected: %s\n", rk_rope_error(rope));

  free(q);
  free(k);
  free(k_cache_row);
  check(rk_model_destroy(model), "rk_model_destroy");
  return 0;
}
