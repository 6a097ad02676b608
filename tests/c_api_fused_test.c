/* SPDX-License-Identifier: Apache-2.0 */
/* The C API's fused engine-step calls against the plain rotation and closed
   forms: rk_rope_append_kv read back from the cache (every cache dtype and
   layout, slot mapping and block table), rk_rope_shift_keys (composition
   and fresh rotation), rk_rope_apply_backward (m^2 times the inverse) and
   rk_rope_apply_qk_norm (RMSNorm in double, then rk_rope_apply). */
#include <ropekit/ropekit.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "c_api_test_util.h"

enum {
  kDim = 16,
  kTokens = 5,
  kQHeads = 4,
  kKvHeads = 2,
  kQCount = kTokens * kQHeads * kDim,
  kKvCount = kTokens * kKvHeads * kDim,
  kPages = 4,
  kPageSize = 4,
  kCacheCount = kPages * kPageSize * kKvHeads * kDim
};

static rk_rope* make_rope(rk_policy policy, double factor) {
  rk_rope_params p;
  rk_rope* rope = NULL;
  RK_CHECK_STATUS(rk_rope_params_init(&p, policy, kDim), RK_OK);
  p.factor = factor;
  p.original_max_position_embeddings = 64;
  p.max_position_embeddings = 256;
  RK_CHECK_STATUS(rk_rope_create(&p, &rope), RK_OK);
  return rope;
}

static float decode_e4m3(uint8_t b) {
  const int e = (b >> 3) & 15, m = b & 7;
  const float magnitude = e == 0 ? ldexpf((float)m, -9) : ldexpf(1.0f + (float)m / 8.0f, e - 7);
  return (b & 0x80u) ? -magnitude : magnitude;
}

static float decode_e5m2(uint8_t b) {
  const int e = (b >> 2) & 31, m = b & 3;
  const float magnitude = e == 0 ? ldexpf((float)m, -16) : ldexpf(1.0f + (float)m / 4.0f, e - 15);
  return (b & 0x80u) ? -magnitude : magnitude;
}

/* Element (slot, head, channel) of a cache of `dtype`, as float, its scale
   applied. */
static float cache_value(const rk_kv_cache* c, const void* base, int64_t slot, int64_t head,
                         int64_t channel, int is_k) {
  const int64_t page = slot / c->page_size, row = slot % c->page_size;
  const int64_t page_elements = c->page_size * c->kv_heads * c->head_dim;
  const int64_t in_page = c->layout == RK_KV_NHD
                              ? (row * c->kv_heads + head) * c->head_dim + channel
                              : (head * c->page_size + row) * c->head_dim + channel;
  const int64_t at = page * (c->page_stride == 0 ? page_elements : c->page_stride) + in_page;
  const float* head_scales = is_k ? c->k_head_scales : c->v_head_scales;
  const float scale = head_scales != NULL ? head_scales[head] : (is_k ? c->k_scale : c->v_scale);
  switch (c->dtype) {
    case RK_DTYPE_F32: return ((const float*)base)[at];
    case RK_DTYPE_BF16: return rk_test_float_from_bf16(((const uint16_t*)base)[at]);
    case RK_DTYPE_F16: return rk_test_float_from_half(((const uint16_t*)base)[at]);
    case RK_DTYPE_F8_E4M3: return decode_e4m3(((const uint8_t*)base)[at]) * scale;
    case RK_DTYPE_F8_E5M2: return decode_e5m2(((const uint8_t*)base)[at]) * scale;
  }
  return NAN;
}

/* Half an ulp of the cache's dtype, relative, plus the float rotation. */
static double cache_tolerance(rk_dtype dtype, double value) {
  const double a = fabs(value);
  switch (dtype) {
    case RK_DTYPE_F32: return 2e-6 * (a + 1.0);
    case RK_DTYPE_BF16: return a * 0x1p-8 + 1e-6;
    case RK_DTYPE_F16: return a * 0x1p-11 + 1e-6;
    case RK_DTYPE_F8_E4M3: return a * 0x1p-4 + 0x1p-10;
    case RK_DTYPE_F8_E5M2: return a * 0x1p-3 + 0x1p-17;
  }
  return 0.0;
}

/* x as the 16-bit `input` type (F32: unchanged); *x becomes the value
   stored, so the float reference starts from the same input. Values too
   small for a normal half are zeroed first. */
static uint16_t to_16(rk_dtype input, float* x) {
  uint16_t bits = 0;
  if (input == RK_DTYPE_BF16) {
    bits = rk_test_bf16_from_float(*x);
    *x = rk_test_float_from_bf16(bits);
  } else if (input == RK_DTYPE_F16) {
    if (fabsf(*x) < 0x1p-14f) *x = 0.0f;
    bits = rk_test_half_from_float(*x);
    *x = rk_test_float_from_half(bits);
  }
  return bits;
}

static float k_cache[kCacheCount], v_cache[kCacheCount]; /* big enough for any dtype */

/* Appends float q/k/v (rounded to `input`) into a cache of `dtype`, then
   compares q and every cached k and v with rk_rope_apply on copies. */
static void check_append(const rk_rope* rope, rk_dtype input, rk_dtype dtype, rk_kv_layout layout,
                         int use_table, const float* k_head_scales, const char* what) {
  float qf[kQCount], kf[kKvCount], vf[kKvCount], q_ref[kQCount], k_ref[kKvCount];
  uint16_t q16[kQCount], k16[kKvCount], v16[kKvCount];
  const int64_t slots[kTokens] = {13, 2, 7, 8, 0};
  const int64_t table[2] = {3, 1};
  const int64_t start = 2; /* positions 2..6: pages 3 (rows 2, 3) and 1 (rows 0..2) */
  float v_head_scales[kKvHeads] = {0.25f, 2.0f};
  rk_kv_cache c;
  rk_tensor qt, kt, vt, qr, kr;
  int64_t t, h, j, i;
  int sixteen = input != RK_DTYPE_F32;
  double worst = 0.0;
  rk_test_fill(qf, kQCount, 21u);
  rk_test_fill(kf, kKvCount, 22u);
  rk_test_fill(vf, kKvCount, 23u);
  for (i = 0; i < kQCount; ++i) q16[i] = to_16(input, &qf[i]);
  for (i = 0; i < kKvCount; ++i) {
    k16[i] = to_16(input, &kf[i]);
    v16[i] = to_16(input, &vf[i]);
  }
  /* The reference: float copies rotated by rk_rope_apply. */
  memcpy(q_ref, qf, sizeof qf);
  memcpy(k_ref, kf, sizeof kf);
  qr = rk_test_token_major(q_ref, RK_DTYPE_F32, kQHeads, kDim);
  kr = rk_test_token_major(k_ref, RK_DTYPE_F32, kKvHeads, kDim);
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, &qr, &kr, use_table ? start : 0, use_table ? NULL : slots),
                  RK_OK);

  qt = rk_test_token_major(sixteen ? (void*)q16 : (void*)qf, input, kQHeads, kDim);
  kt = rk_test_token_major(sixteen ? (void*)k16 : (void*)kf, input, kKvHeads, kDim);
  vt = rk_test_token_major(sixteen ? (void*)v16 : (void*)vf, input, kKvHeads, kDim);
  memset(k_cache, 0, sizeof k_cache);
  memset(v_cache, 0, sizeof v_cache);
  RK_CHECK_STATUS(rk_kv_cache_init(&c), RK_OK);
  c.k = k_cache;
  c.v = v_cache;
  c.dtype = dtype;
  c.pages = kPages;
  c.page_size = kPageSize;
  c.kv_heads = kKvHeads;
  c.head_dim = kDim;
  c.layout = layout;
  if (dtype == RK_DTYPE_F8_E4M3 || dtype == RK_DTYPE_F8_E5M2) {
    c.k_scale = 0.5f;
    c.v_scale = 0.125f;
    if (k_head_scales != NULL) {
      c.k_head_scales = k_head_scales;
      c.v_head_scales = v_head_scales;
    }
  }
  /* The slot mapping's tokens sit at positions = their slots, so both forms
     have one reference: positions given as ids (slot mapping) or from start. */
  if (use_table)
    RK_CHECK_STATUS(rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &c, NULL, table, 2, start, NULL),
                    RK_OK);
  else
    RK_CHECK_STATUS(rk_rope_append_kv(rope, kTokens, &qt, &kt, &vt, &c, slots, NULL, 0, 0, slots),
                    RK_OK);
  for (i = 0; i < kQCount; ++i) {
    const double got = input == RK_DTYPE_F32   ? qf[i]
                       : input == RK_DTYPE_BF16 ? rk_test_float_from_bf16(q16[i])
                                                : rk_test_float_from_half(q16[i]);
    const double err = fabs(got - q_ref[i]);
    RK_CHECK(err <= cache_tolerance(input, q_ref[i]), what);
  }
  for (t = 0; t < kTokens; ++t) {
    const int64_t p = use_table ? start + t : slots[t];
    const int64_t slot = use_table ? table[p / kPageSize] * kPageSize + p % kPageSize : slots[t];
    for (h = 0; h < kKvHeads; ++h)
      for (j = 0; j < kDim; ++j) {
        const int64_t at = (t * kKvHeads + h) * kDim + j;
        const double kw = k_ref[at], vw = vf[at];
        const double kg = cache_value(&c, k_cache, slot, h, j, 1);
        const double vg = cache_value(&c, v_cache, slot, h, j, 0);
        if (fabs(kg - kw) - cache_tolerance(dtype, kw) > worst) worst = fabs(kg - kw) - cache_tolerance(dtype, kw);
        if (fabs(vg - vw) - cache_tolerance(dtype, vw) > worst) worst = fabs(vg - vw) - cache_tolerance(dtype, vw);
        RK_CHECK(fabs(kg - kw) <= cache_tolerance(dtype, kw), what);
        RK_CHECK(fabs(vg - vw) <= cache_tolerance(dtype, vw), what);
      }
  }
  if (worst > 0.0) fprintf(stderr, "  %s: worst excess %g\n", what, worst);
}

static void test_append(void) {
  rk_rope* rope = make_rope(RK_POLICY_YARN, 4.0);
  const float k_head_scales[kKvHeads] = {0.5f, 0.0625f};
  if (rope == NULL) return;
  check_append(rope, RK_DTYPE_F32, RK_DTYPE_F32, RK_KV_NHD, 0, NULL, "append f32 -> f32 NHD slots");
  check_append(rope, RK_DTYPE_F32, RK_DTYPE_F32, RK_KV_HND, 1, NULL, "append f32 -> f32 HND table");
  check_append(rope, RK_DTYPE_BF16, RK_DTYPE_BF16, RK_KV_HND, 1, NULL, "append bf16 -> bf16 HND");
  check_append(rope, RK_DTYPE_BF16, RK_DTYPE_BF16, RK_KV_NHD, 0, NULL, "append bf16 -> bf16 NHD");
  check_append(rope, RK_DTYPE_F16, RK_DTYPE_F16, RK_KV_NHD, 1, NULL, "append f16 -> f16 NHD");
  check_append(rope, RK_DTYPE_F32, RK_DTYPE_BF16, RK_KV_NHD, 0, NULL, "append f32 -> bf16");
  check_append(rope, RK_DTYPE_BF16, RK_DTYPE_F32, RK_KV_HND, 0, NULL, "append bf16 -> f32");
  check_append(rope, RK_DTYPE_F32, RK_DTYPE_F8_E4M3, RK_KV_NHD, 0, NULL, "append -> e4m3 scaled");
  check_append(rope, RK_DTYPE_BF16, RK_DTYPE_F8_E4M3, RK_KV_HND, 1, k_head_scales,
               "append -> e4m3 per-head");
  check_append(rope, RK_DTYPE_F32, RK_DTYPE_F8_E5M2, RK_KV_HND, 1, NULL, "append -> e5m2 scaled");
  check_append(rope, RK_DTYPE_F16, RK_DTYPE_F8_E5M2, RK_KV_NHD, 0, k_head_scales,
               "append -> e5m2 per-head");
  rk_rope_destroy(rope);
}

/* Keys rotated at p, shifted by a then b, equal keys shifted by a + b and
   keys rotated at p + a + b; per-token deltas equal fresh rotation. */
static void test_shift(void) {
  rk_rope* rope = make_rope(RK_POLICY_LLAMA3, 8.0);
  float keys[kKvCount], once[kKvCount], fresh[kKvCount], raw_keys[kKvCount];
  uint16_t keys16[kKvCount];
  const int64_t positions[kTokens] = {0, 3, 100, 4095, 17};
  const int64_t deltas[kTokens] = {5, -3, 1000, -4095, 0};
  int64_t moved[kTokens], t, i;
  rk_tensor kt = rk_test_token_major(keys, RK_DTYPE_F32, kKvHeads, kDim);
  rk_tensor ot = rk_test_token_major(once, RK_DTYPE_F32, kKvHeads, kDim);
  rk_tensor ft = rk_test_token_major(fresh, RK_DTYPE_F32, kKvHeads, kDim);
  rk_tensor bt = rk_test_token_major(keys16, RK_DTYPE_BF16, kKvHeads, kDim);
  if (rope == NULL) return;
  rk_test_fill(raw_keys, kKvCount, 31u);
  memcpy(keys, raw_keys, sizeof keys);
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, NULL, &kt, 0, positions), RK_OK);
  memcpy(once, keys, sizeof keys);
  RK_CHECK_STATUS(rk_rope_shift_keys(rope, kTokens, &kt, 700, NULL), RK_OK);
  RK_CHECK_STATUS(rk_rope_shift_keys(rope, kTokens, &kt, -250, NULL), RK_OK);
  RK_CHECK_STATUS(rk_rope_shift_keys(rope, kTokens, &ot, 450, NULL), RK_OK);
  for (t = 0; t < kTokens; ++t) moved[t] = positions[t] + 450;
  memcpy(fresh, raw_keys, sizeof fresh);
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, NULL, &ft, 0, moved), RK_OK);
  for (i = 0; i < kKvCount; ++i) {
    RK_CHECK_NEAR(keys[i], once[i], 4e-6, "shift 700 then -250 = shift 450");
    RK_CHECK_NEAR(keys[i], fresh[i], 4e-6, "shift 700 then -250 = rotation at p + 450");
  }

  /* Per-token deltas, in bfloat16: one rounding to bf16 from the float
     result. */
  for (i = 0; i < kKvCount; ++i) once[i] = raw_keys[i];
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, NULL, &ot, 0, positions), RK_OK);
  for (i = 0; i < kKvCount; ++i) keys16[i] = rk_test_bf16_from_float(once[i]);
  RK_CHECK_STATUS(rk_rope_shift_keys(rope, kTokens, &bt, 0, deltas), RK_OK);
  for (t = 0; t < kTokens; ++t) moved[t] = positions[t] + deltas[t];
  memcpy(fresh, raw_keys, sizeof fresh);
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, NULL, &ft, 0, moved), RK_OK);
  for (i = 0; i < kKvCount; ++i)
    RK_CHECK_NEAR(rk_test_float_from_bf16(keys16[i]), fresh[i], fabs(fresh[i]) * 0x1p-7 + 1e-5,
                  "bf16 per-token shift = rotation at p + delta");
  rk_rope_destroy(rope);
}

/* The gradient of the rotation is m * R(-angle): m^2 times the inverse
   (which divides by m). YaRN's m is not 1, so the two differ. */
static void test_backward(void) {
  rk_rope* rope = make_rope(RK_POLICY_YARN, 8.0);
  float gq[kQCount], gk[kKvCount], iq[kQCount], ik[kKvCount];
  rk_tensor gqt = rk_test_token_major(gq, RK_DTYPE_F32, kQHeads, kDim);
  rk_tensor gkt = rk_test_token_major(gk, RK_DTYPE_F32, kKvHeads, kDim);
  rk_tensor iqt = rk_test_token_major(iq, RK_DTYPE_F32, kQHeads, kDim);
  rk_tensor ikt = rk_test_token_major(ik, RK_DTYPE_F32, kKvHeads, kDim);
  rk_rope_info info;
  double m2;
  int64_t i;
  if (rope == NULL) return;
  RK_CHECK_STATUS(rk_rope_describe(rope, &info), RK_OK);
  RK_CHECK(info.attention_factor > 1.1, "YaRN's attention factor is not 1");
  m2 = info.attention_factor * info.attention_factor;
  rk_test_fill(gq, kQCount, 41u);
  rk_test_fill(gk, kKvCount, 42u);
  memcpy(iq, gq, sizeof gq);
  memcpy(ik, gk, sizeof gk);
  RK_CHECK_STATUS(rk_rope_apply_backward(rope, kTokens, &gqt, &gkt, 300, NULL), RK_OK);
  RK_CHECK_STATUS(rk_rope_apply_inverse(rope, kTokens, &iqt, &ikt, 300, NULL), RK_OK);
  for (i = 0; i < kQCount; ++i)
    RK_CHECK_NEAR(gq[i], m2 * iq[i], 2e-6 * (fabs(gq[i]) + 1.0), "backward q = m^2 inverse");
  for (i = 0; i < kKvCount; ++i)
    RK_CHECK_NEAR(gk[i], m2 * ik[i], 2e-6 * (fabs(gk[i]) + 1.0), "backward k = m^2 inverse");
  /* One tensor (grad_k alone) and position ids. */
  {
    const int64_t ids[kTokens] = {9, 0, 9, 77, 2};
    rk_test_fill(gk, kKvCount, 43u);
    memcpy(ik, gk, sizeof gk);
    RK_CHECK_STATUS(rk_rope_apply_backward(rope, kTokens, NULL, &gkt, 0, ids), RK_OK);
    RK_CHECK_STATUS(rk_rope_apply_inverse(rope, kTokens, NULL, &ikt, 0, ids), RK_OK);
    for (i = 0; i < kKvCount; ++i)
      RK_CHECK_NEAR(gk[i], m2 * ik[i], 2e-6 * (fabs(gk[i]) + 1.0), "backward k alone");
  }
  rk_rope_destroy(rope);
}

/* x * rsqrt(mean(x^2) + eps) * w (or 1 + w), in double, per head. */
static void rms_norm(float* x, int64_t heads, const float* weight, double eps, int one_plus) {
  int64_t t, h, j;
  for (t = 0; t < kTokens; ++t)
    for (h = 0; h < heads; ++h) {
      float* row = x + (t * heads + h) * kDim;
      double sum = 0.0, r;
      for (j = 0; j < kDim; ++j) sum += (double)row[j] * row[j];
      r = 1.0 / sqrt(sum / kDim + (double)(float)eps);
      for (j = 0; j < kDim; ++j)
        row[j] = (float)(row[j] * r * (one_plus ? 1.0 + weight[j] : (double)weight[j]));
    }
}

static void test_qk_norm(void) {
  rk_rope* rope = make_rope(RK_POLICY_DEFAULT, 1.0);
  float q[kQCount], k[kKvCount], qr[kQCount], kr[kKvCount], qw[kDim], kw[kDim];
  rk_tensor qt = rk_test_token_major(q, RK_DTYPE_F32, kQHeads, kDim);
  rk_tensor kt = rk_test_token_major(k, RK_DTYPE_F32, kKvHeads, kDim);
  rk_tensor qrt = rk_test_token_major(qr, RK_DTYPE_F32, kQHeads, kDim);
  rk_tensor krt = rk_test_token_major(kr, RK_DTYPE_F32, kKvHeads, kDim);
  rk_qk_norm norm;
  int one_plus;
  int64_t i;
  if (rope == NULL) return;
  rk_test_fill(qw, kDim, 51u);
  rk_test_fill(kw, kDim, 52u);
  for (one_plus = 0; one_plus <= 1; ++one_plus) {
    RK_CHECK_STATUS(rk_qk_norm_init(&norm), RK_OK);
    norm.q_weight = qw;
    norm.k_weight = kw;
    norm.eps = 1e-5;
    norm.one_plus = one_plus;
    rk_test_fill(q, kQCount, 53u);
    rk_test_fill(k, kKvCount, 54u);
    memcpy(qr, q, sizeof q);
    memcpy(kr, k, sizeof k);
    rms_norm(qr, kQHeads, qw, norm.eps, one_plus);
    rms_norm(kr, kKvHeads, kw, norm.eps, one_plus);
    RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, &qrt, &krt, 40, NULL), RK_OK);
    RK_CHECK_STATUS(rk_rope_apply_qk_norm(rope, kTokens, &qt, &kt, &norm, 40, NULL), RK_OK);
    for (i = 0; i < kQCount; ++i)
      RK_CHECK_NEAR(q[i], qr[i], 1e-5 * (fabs(qr[i]) + 1.0), "qk_norm q = norm then apply");
    for (i = 0; i < kKvCount; ++i)
      RK_CHECK_NEAR(k[i], kr[i], 1e-5 * (fabs(kr[i]) + 1.0), "qk_norm k = norm then apply");
  }
  /* k alone, Gemma's 1 + w. */
  rk_test_fill(k, kKvCount, 55u);
  memcpy(kr, k, sizeof k);
  rms_norm(kr, kKvHeads, kw, norm.eps, 1);
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, NULL, &krt, 7, NULL), RK_OK);
  norm.q_weight = NULL;
  RK_CHECK_STATUS(rk_rope_apply_qk_norm(rope, kTokens, NULL, &kt, &norm, 7, NULL), RK_OK);
  for (i = 0; i < kKvCount; ++i)
    RK_CHECK_NEAR(k[i], kr[i], 1e-5 * (fabs(kr[i]) + 1.0), "head norm k alone");
  rk_rope_destroy(rope);
}

int main(void) {
  test_append();
  test_shift();
  test_backward();
  test_qk_norm();
  return rk_test_report("c_api_fused_test");
}
