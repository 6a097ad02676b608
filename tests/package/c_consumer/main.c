/* SPDX-License-Identifier: Apache-2.0 */
/* A C11 consumer of the installed C API: includes only ropekit/ropekit.h.
   Loads a config.json, rotates float and bfloat16 at a start position and at
   explicit ids, appends to a paged bfloat16 cache, shifts it, and reads an
   error's text. */
#include <ropekit/ropekit.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint16_t bf16(float x) { /* round to nearest even */
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static float from_bf16(uint16_t h) {
  const uint32_t u = (uint32_t)h << 16;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

static int fail(const char* what) {
  printf("consumer failed at %s: %s\n", what, rk_last_error());
  return 1;
}

int main(void) {
  static const char config[] =
      "{\"num_hidden_layers\": 2, \"head_dim\": 4, \"rope_theta\": 10000.0}";
  const char* path = "rk_consumer_config.json";
  rk_model* model = NULL;
  const rk_rope* rope = NULL;
  float q[4] = {1.0f, 0.0f, 0.0f, 0.0f};
  uint16_t qb[4], kb[4], vb[4], k_cache[2 * 4 * 4] = {0}, v_cache[2 * 4 * 4] = {0};
  const int64_t ids[1] = {7}, block_table[1] = {1};
  rk_tensor qt = {q, RK_DTYPE_F32, 1, 4, 4, 4};
  rk_tensor qbt = {qb, RK_DTYPE_BF16, 1, 4, 4, 4};
  rk_tensor kbt = {kb, RK_DTYPE_BF16, 1, 4, 4, 4};
  rk_tensor vbt = {vb, RK_DTYPE_BF16, 1, 4, 4, 4};
  rk_tensor cached;
  rk_kv_cache cache;
  int i, ok;
  FILE* file = fopen(path, "w");
  if (file == NULL || fputs(config, file) < 0 || fclose(file) != 0) return fail("writing config");

  if (rk_version() != RK_VERSION) return fail("version");
  if (rk_model_load(path, &model) != RK_OK) return fail("rk_model_load");
  if (rk_model_layer_rope(model, 1, &rope) != RK_OK) return fail("rk_model_layer_rope");
  /* Float at position 1: pair 0 turns by 1 radian. */
  if (rk_rope_apply(rope, 1, &qt, NULL, 1, NULL) != RK_OK) return fail("rk_rope_apply");
  ok = fabs(q[0] - cos(1.0)) < 1e-6 && fabs(q[2] - sin(1.0)) < 1e-6;
  /* bfloat16 at explicit id 7: the float result rounded once. */
  for (i = 0; i < 4; ++i) qb[i] = kb[i] = bf16(i == 0 ? 1.0f : 0.0f);
  if (rk_rope_apply(rope, 1, &qbt, NULL, 0, ids) != RK_OK) return fail("rk_rope_apply bf16");
  ok = ok && fabs(from_bf16(qb[0]) - cos(7.0)) < 4e-3 && fabs(from_bf16(qb[2]) - sin(7.0)) < 4e-3;
  /* Append k (position 3) and v to a paged bf16 cache (q rotated in place
     alongside): 2 pages of 4 rows,
     this sequence on page 1; then shift the cached key back to position 1. */
  for (i = 0; i < 4; ++i) {
    kb[i] = bf16(i == 0 ? 1.0f : 0.0f);
    vb[i] = bf16(0.5f);
  }
  if (rk_kv_cache_init(&cache) != RK_OK) return fail("rk_kv_cache_init");
  cache.k = k_cache;
  cache.v = v_cache;
  cache.dtype = RK_DTYPE_BF16;
  cache.pages = 2;
  cache.page_size = 4;
  cache.kv_heads = 1;
  cache.head_dim = 4;
  cache.layout = RK_KV_NHD;
  if (rk_rope_append_kv(rope, 1, &qbt, &kbt, &vbt, &cache, NULL, block_table, 1, 3, NULL) != RK_OK)
    return fail("rk_rope_append_kv");
  cached = kbt;
  cached.data = k_cache + (1 * 4 + 3) * 4; /* page 1, row 3 */
  ok = ok && fabs(from_bf16(k_cache[28]) - cos(3.0)) < 4e-3 && from_bf16(v_cache[28]) == 0.5f;
  if (rk_rope_shift_keys(rope, 1, &cached, -2, NULL) != RK_OK) return fail("rk_rope_shift_keys");
  ok = ok && fabs(from_bf16(k_cache[28]) - cos(1.0)) < 8e-3 &&
       fabs(from_bf16(k_cache[30]) - sin(1.0)) < 8e-3;
  /* Errors as text, per handle. */
  ok = ok && rk_rope_apply(rope, -1, &qt, NULL, 0, NULL) == RK_ERR_INVALID_ARGUMENT &&
       strstr(rk_rope_error(rope), "tokens = -1") != NULL;
  rk_model_destroy(model);
  remove(path);
  printf(ok ? "consumer ok\n" : "consumer wrong: %f %f\n", q[0], q[2]);
  return ok ? 0 : 1;
}
