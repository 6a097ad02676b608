/* SPDX-License-Identifier: Apache-2.0 */
/* The fused C calls' bad input: the right status, a message naming the
   parameter (per thread and on the rope), and nothing written: not q, k or
   v, not either cache. */
#include <ropekit/ropekit.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "c_api_test_util.h"

enum {
  kDim = 8,
  kTokens = 3,
  kHeads = 2,
  kCount = kTokens * kHeads * kDim,
  kPages = 2,
  kPageSize = 4,
  kCacheCount = kPages * kPageSize * kHeads * kDim
};

static float q[kCount], k[kCount], v[kCount], kc[kCacheCount], vc[kCacheCount];
static float saved[5][kCacheCount];

static void save(void) {
  memcpy(saved[0], q, sizeof q);
  memcpy(saved[1], k, sizeof k);
  memcpy(saved[2], v, sizeof v);
  memcpy(saved[3], kc, sizeof kc);
  memcpy(saved[4], vc, sizeof vc);
}

static int untouched(void) {
  return memcmp(saved[0], q, sizeof q) == 0 && memcmp(saved[1], k, sizeof k) == 0 &&
         memcmp(saved[2], v, sizeof v) == 0 && memcmp(saved[3], kc, sizeof kc) == 0 &&
         memcmp(saved[4], vc, sizeof vc) == 0;
}

static void expect(const rk_rope* rope, rk_status got, rk_status want, const char* parameter,
                   const char* what) {
  rk_test_expect_error(got, want, parameter, rope != NULL ? rk_rope_error(rope) : NULL, what);
  RK_CHECK(untouched(), what);
  if (!untouched()) fprintf(stderr, "  %s: a buffer was written\n", what);
}

#define EXPECT(rope, call, parameter, what) \
  expect((rope), (call), RK_ERR_INVALID_ARGUMENT, (parameter), (what))

static void test_append(rk_rope* rope) {
  rk_tensor qt = rk_test_token_major(q, RK_DTYPE_F32, kHeads, kDim);
  rk_tensor kt = rk_test_token_major(k, RK_DTYPE_F32, kHeads, kDim);
  rk_tensor vt = rk_test_token_major(v, RK_DTYPE_F32, kHeads, kDim);
  rk_tensor bad;
  rk_kv_cache c, cb;
  const int64_t slots[kTokens] = {0, 5, 2};
  const int64_t out_of_range[kTokens] = {0, 16, 2};
  const int64_t negative[kTokens] = {0, -1, 2};
  const int64_t duplicate[kTokens] = {3, 5, 3};
  const int64_t table[1] = {1};
  const int64_t bad_table[1] = {2};
  RK_CHECK_STATUS(rk_kv_cache_init(&c), RK_OK);
  c.k = kc;
  c.v = vc;
  c.pages = kPages;
  c.page_size = kPageSize;
  c.kv_heads = kHeads;
  c.head_dim = kDim;
  RK_CHECK_STATUS(rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &c, slots, NULL, 0, 0, NULL),
                  RK_OK);
  save();
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &c, out_of_range, NULL, 0, 0, NULL),
         "slot", "slot out of range");
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &c, negative, NULL, 0, 0, NULL),
         "slot", "negative slot");
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &c, duplicate, NULL, 0, 0, NULL),
         "slot", "duplicate slot");
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &c, NULL, table, 1, 2, NULL),
         "block table", "positions past the block table");
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &c, NULL, bad_table, 1, 0, NULL),
         "block_table", "page outside the cache");
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &c, slots, table, 1, 0, NULL),
         "slot_mapping", "both slot_mapping and block_table");
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &c, NULL, NULL, 0, 0, NULL),
         "slot_mapping", "neither slot_mapping nor block_table");
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &c, slots, NULL, 0, 4, slots),
         "start_position", "start_position with ids");
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, NULL, slots, NULL, 0, 0, NULL),
         "cache", "NULL cache");
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, NULL, &c, slots, NULL, 0, 0, NULL), "v",
         "NULL v");
  cb = c;
  cb.struct_size = 8;
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &cb, slots, NULL, 0, 0, NULL),
         "cache.struct_size", "struct_size");
  cb = c;
  cb.dtype = (rk_dtype)9;
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &cb, slots, NULL, 0, 0, NULL),
         "cache.dtype", "cache dtype");
  cb = c;
  cb.layout = (rk_kv_layout)2;
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &cb, slots, NULL, 0, 0, NULL),
         "cache.layout", "cache layout");
  cb = c;
  cb.pages = 0;
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &cb, slots, NULL, 0, 0, NULL),
         "cache.pages", "no pages");
  cb = c;
  cb.v = NULL;
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &cb, slots, NULL, 0, 0, NULL),
         "cache.v", "NULL v cache");
  cb = c;
  cb.k_scale = 0.5f;
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &cb, slots, NULL, 0, 0, NULL),
         "cache.k_scale", "a scale on a float cache");
  cb = c;
  cb.dtype = RK_DTYPE_F8_E4M3;
  cb.v_scale = -1.0f;
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &cb, slots, NULL, 0, 0, NULL),
         "v_scale", "negative FP8 scale");
  cb.v_scale = 1.0f;
  cb.k_head_scales = &cb.k_scale;
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &cb, slots, NULL, 0, 0, NULL),
         "v_head_scales", "k head scales without v's");
  cb = c;
  cb.head_dim = kDim / 2;
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &cb, slots, NULL, 0, 0, NULL),
         "head_dim", "cache head_dim");
  bad = vt;
  bad.dtype = RK_DTYPE_BF16;
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &kt, &bad, &c, slots, NULL, 0, 0, NULL),
         "v.dtype", "v dtype");
  bad = qt;
  bad.dtype = RK_DTYPE_F8_E4M3;
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &bad, &kt, &vt, &c, slots, NULL, 0, 0, NULL),
         "q.dtype", "FP8 q");
  bad = kt;
  bad.data = kc; /* k read from the cache it is written to */
  EXPECT(rope, rk_rope_append_kv(rope, kTokens, &qt, &bad, &vt, &c, slots, NULL, 0, 0, NULL), "k",
         "k overlapping the cache");
  EXPECT(NULL, rk_rope_append_kv(NULL, kTokens, &qt, &kt, &vt, &c, slots, NULL, 0, 0, NULL),
         "rope", "NULL rope");
}

static void test_shift_backward_norm(rk_rope* rope) {
  rk_tensor kt = rk_test_token_major(k, RK_DTYPE_F32, kHeads, kDim);
  rk_tensor qt = rk_test_token_major(q, RK_DTYPE_F32, kHeads, kDim);
  rk_tensor bad;
  const int64_t deltas[kTokens] = {1, 2, 3};
  const int64_t huge[kTokens] = {1, 4294967296LL, 3};
  float weight[kDim];
  rk_qk_norm norm, nb;
  save();
  EXPECT(rope, rk_rope_shift_keys(rope, kTokens, &kt, 5, deltas), "delta", "delta with deltas");
  EXPECT(rope, rk_rope_shift_keys(rope, kTokens, &kt, 0, huge), "delta", "huge delta");
  EXPECT(rope, rk_rope_shift_keys(rope, kTokens, &kt, 4294967296LL, NULL), "delta = 4294967296",
         "huge constant delta");
  EXPECT(rope, rk_rope_shift_keys(rope, kTokens, NULL, 1, NULL), "keys", "NULL keys");
  bad = kt;
  bad.head_dim = kDim + 2;
  EXPECT(rope, rk_rope_shift_keys(rope, kTokens, &bad, 1, NULL), "keys.", "keys head_dim");
  bad = kt;
  bad.dtype = RK_DTYPE_F8_E5M2;
  EXPECT(rope, rk_rope_shift_keys(rope, kTokens, &bad, 1, NULL), "keys.dtype", "FP8 keys");
  EXPECT(rope, rk_rope_apply_backward(rope, kTokens, NULL, NULL, 0, NULL), "grad_q",
         "no gradients");
  bad = kt;
  bad.token_stride = 1;
  EXPECT(rope, rk_rope_apply_backward(rope, kTokens, NULL, &bad, 0, NULL), "grad_k.",
         "overlapping grad_k heads");
  EXPECT(rope, rk_rope_apply_backward(rope, -1, &qt, &kt, 0, NULL), "tokens", "negative tokens");

  rk_test_fill(weight, kDim, 3u);
  RK_CHECK_STATUS(rk_qk_norm_init(&norm), RK_OK);
  norm.q_weight = weight;
  norm.k_weight = weight;
  save();
  nb = norm;
  nb.k_weight = NULL;
  EXPECT(rope, rk_rope_apply_qk_norm(rope, kTokens, &qt, &kt, &nb, 0, NULL), "norm.k_weight",
         "NULL k weight");
  nb = norm;
  nb.q_weight = NULL;
  EXPECT(rope, rk_rope_apply_qk_norm(rope, kTokens, &qt, NULL, &nb, 0, NULL), "norm.q_weight",
         "NULL q weight, q alone");
  nb = norm;
  nb.eps = -1.0;
  EXPECT(rope, rk_rope_apply_qk_norm(rope, kTokens, &qt, &kt, &nb, 0, NULL), "eps", "negative eps");
  nb.eps = 1e300;
  EXPECT(rope, rk_rope_apply_qk_norm(rope, kTokens, NULL, &kt, &nb, 0, NULL), "eps", "huge eps");
  nb = norm;
  nb.struct_size = 1;
  EXPECT(rope, rk_rope_apply_qk_norm(rope, kTokens, &qt, &kt, &nb, 0, NULL), "norm.struct_size",
         "struct_size");
  EXPECT(rope, rk_rope_apply_qk_norm(rope, kTokens, &qt, &kt, NULL, 0, NULL), "norm", "NULL norm");
  bad = kt;
  bad.head_stride = -3;
  EXPECT(rope, rk_rope_apply_qk_norm(rope, kTokens, NULL, &bad, &norm, 0, NULL), "k.",
         "k alone, bad stride");
}

int main(void) {
  rk_rope_params p;
  rk_rope* rope = NULL;
  rk_test_fill(q, kCount, 1u);
  rk_test_fill(k, kCount, 2u);
  rk_test_fill(v, kCount, 3u);
  RK_CHECK_STATUS(rk_rope_params_init(&p, RK_POLICY_DEFAULT, kDim), RK_OK);
  RK_CHECK_STATUS(rk_rope_create(&p, &rope), RK_OK);
  if (rope == NULL) return rk_test_report("c_api_fused_bad_input_test");
  test_append(rope);
  test_shift_backward_norm(rope);
  RK_CHECK_STATUS(rk_kv_cache_init(NULL), RK_ERR_INVALID_ARGUMENT);
  RK_CHECK_STATUS(rk_qk_norm_init(NULL), RK_ERR_INVALID_ARGUMENT);
  rk_rope_destroy(rope);
  return rk_test_report("c_api_fused_bad_input_test");
}
