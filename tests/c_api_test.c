/* SPDX-License-Identifier: Apache-2.0 */
/* The C API from C11: rotations against closed forms computed here in
   double, every dtype, position ids, inverse, GQA with strided views, ropes
   from config.json files, version and status queries. Bad input is in
   c_api_bad_input_test.c. */
#include <ropekit/ropekit.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "c_api_test_util.h"

enum { kHeadDim = 8, kPairs = kHeadDim / 2, kTokens = 3, kQHeads = 4, kKHeads = 2 };

/* Pair j of a head: channels (j, j + half) half-split, (2j, 2j + 1) interleaved. */
static void pair_channels(rk_layout layout, int64_t rotary_dim, int64_t j, int64_t* a, int64_t* b) {
  *a = layout == RK_LAYOUT_HALF_SPLIT ? j : 2 * j;
  *b = layout == RK_LAYOUT_HALF_SPLIT ? j + rotary_dim / 2 : 2 * j + 1;
}

/* Checks `out` = `in` rotated by position * inv_freq[j] per pair, in double. */
static void check_rotated(const float* in, const float* out, int64_t heads, int64_t head_dim,
                          rk_layout layout, const double* inv_freq, int64_t pairs,
                          double position, double sign, const char* what) {
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t j = 0; j < pairs; ++j) {
      int64_t a, b;
      pair_channels(layout, 2 * pairs, j, &a, &b);
      const double angle = sign * position * inv_freq[j];
      const double x = in[h * head_dim + a], y = in[h * head_dim + b];
      const double ex = x * cos(angle) - y * sin(angle);
      const double ey = x * sin(angle) + y * cos(angle);
      RK_CHECK_NEAR(out[h * head_dim + a], ex, 4e-6, what);
      RK_CHECK_NEAR(out[h * head_dim + b], ey, 4e-6, what);
    }
  }
}

static rk_rope* make_rope(rk_policy policy, rk_layout layout, int64_t head_dim, double base) {
  rk_rope_params p;
  rk_rope* rope = NULL;
  RK_CHECK_STATUS(rk_rope_params_init(&p, policy, head_dim), RK_OK);
  p.layout = layout;
  p.base = base;
  RK_CHECK_STATUS(rk_rope_create(&p, &rope), RK_OK);
  return rope;
}

static void test_version(void) {
  RK_CHECK(rk_version() == RK_VERSION, "library version equals the header's");
  RK_CHECK(strcmp(rk_version_string(), "0.1.0") == 0, "version string");
  RK_CHECK(strcmp(rk_status_name(RK_ERR_CONFIG), "RK_ERR_CONFIG") == 0, "status name");
  RK_CHECK(strcmp(rk_status_name(RK_NO_ROPE), "RK_NO_ROPE") == 0, "status name");
}

/* Default RoPE: inv_freq = base^(-2j/d), and q, k rotated at start .. start + 2. */
static void test_default_closed_form(rk_layout layout) {
  const double base = 10000.0;
  rk_rope* rope = make_rope(RK_POLICY_DEFAULT, layout, kHeadDim, base);
  double inv_freq[kPairs];
  int64_t count = 0;
  float q[kTokens * kQHeads * kHeadDim], k[kTokens * kKHeads * kHeadDim];
  float q0[sizeof q / sizeof q[0]], k0[sizeof k / sizeof k[0]];
  rk_tensor qt = rk_test_token_major(q, RK_DTYPE_F32, kQHeads, kHeadDim);
  rk_tensor kt = rk_test_token_major(k, RK_DTYPE_F32, kKHeads, kHeadDim);
  rk_rope_info info;
  int64_t t, j;

  RK_CHECK_STATUS(rk_rope_inv_freq(rope, inv_freq, kPairs, &count), RK_OK);
  RK_CHECK(count == kPairs, "pairs");
  for (j = 0; j < kPairs; ++j)
    RK_CHECK_NEAR(inv_freq[j], pow(base, -2.0 * (double)j / kHeadDim), 1e-15, "inv_freq");
  RK_CHECK_STATUS(rk_rope_describe(rope, &info), RK_OK);
  RK_CHECK(info.head_dim == kHeadDim && info.rotary_dim == kHeadDim && info.layout == layout &&
               strcmp(info.policy_name, "default") == 0 && info.attention_factor == 1.0 &&
               info.length_dependent == 0 && info.position_axes == 1,
           "describe");

  rk_test_fill(q, sizeof q / sizeof q[0], 1u);
  rk_test_fill(k, sizeof k / sizeof k[0], 2u);
  memcpy(q0, q, sizeof q);
  memcpy(k0, k, sizeof k);
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, &qt, &kt, 1000, NULL), RK_OK);
  for (t = 0; t < kTokens; ++t) {
    check_rotated(q0 + t * kQHeads * kHeadDim, q + t * kQHeads * kHeadDim, kQHeads, kHeadDim,
                  layout, inv_freq, kPairs, 1000.0 + (double)t, 1.0, "q rotated");
    check_rotated(k0 + t * kKHeads * kHeadDim, k + t * kKHeads * kHeadDim, kKHeads, kHeadDim,
                  layout, inv_freq, kPairs, 1000.0 + (double)t, 1.0, "k rotated");
  }
  /* The inverse undoes it. */
  RK_CHECK_STATUS(rk_rope_apply_inverse(rope, kTokens, &qt, &kt, 1000, NULL), RK_OK);
  for (t = 0; t < (int64_t)(sizeof q / sizeof q[0]); ++t) RK_CHECK_NEAR(q[t], q0[t], 1e-6, "q inverse");
  for (t = 0; t < (int64_t)(sizeof k / sizeof k[0]); ++t) RK_CHECK_NEAR(k[t], k0[t], 1e-6, "k inverse");
  /* k alone, then its inverse alone. */
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, NULL, &kt, 7, NULL), RK_OK);
  check_rotated(k0, k, kKHeads, kHeadDim, layout, inv_freq, kPairs, 7.0, 1.0, "k alone");
  RK_CHECK_STATUS(rk_rope_apply_inverse(rope, kTokens, NULL, &kt, 7, NULL), RK_OK);
  for (t = 0; t < (int64_t)(sizeof k / sizeof k[0]); ++t) RK_CHECK_NEAR(k[t], k0[t], 1e-6, "k inverse alone");
  RK_CHECK_STATUS(rk_rope_destroy(rope), RK_OK);
}

/* Explicit ids: each token where its id says, checked against the closed form. */
static void test_position_ids(void) {
  const int64_t ids[kTokens] = {2147483647, 0, 65537};
  rk_rope* rope = make_rope(RK_POLICY_DEFAULT, RK_LAYOUT_HALF_SPLIT, kHeadDim, 500000.0);
  double inv_freq[kPairs];
  int64_t count = 0, t;
  float q[kTokens * kQHeads * kHeadDim], q0[kTokens * kQHeads * kHeadDim];
  rk_tensor qt = rk_test_token_major(q, RK_DTYPE_F32, kQHeads, kHeadDim);
  RK_CHECK_STATUS(rk_rope_inv_freq(rope, inv_freq, kPairs, &count), RK_OK);
  rk_test_fill(q, sizeof q / sizeof q[0], 3u);
  memcpy(q0, q, sizeof q);
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, &qt, NULL, 0, ids), RK_OK);
  for (t = 0; t < kTokens; ++t) {
    /* Angles at 2^31 - 1 in double: exact to ~1e-7 rad at most for w <= 1, as the bound. */
    check_rotated(q0 + t * kQHeads * kHeadDim, q + t * kQHeads * kHeadDim, kQHeads, kHeadDim,
                  RK_LAYOUT_HALF_SPLIT, inv_freq, kPairs, (double)ids[t], 1.0, "position ids");
  }
  RK_CHECK_STATUS(rk_rope_destroy(rope), RK_OK);
}

/* bfloat16 and half: the float rotation rounded once (bfloat16: to nearest
   even, bit for bit; half: within half a half-ulp of the closed form). */
static void test_16_bit(void) {
  rk_rope* rope = make_rope(RK_POLICY_DEFAULT, RK_LAYOUT_INTERLEAVED, kHeadDim, 10000.0);
  float f[kTokens * kKHeads * kHeadDim], f0[kTokens * kKHeads * kHeadDim];
  uint16_t b[kTokens * kKHeads * kHeadDim], h[kTokens * kKHeads * kHeadDim];
  double inv_freq[kPairs];
  int64_t count = 0, i, t;
  const int64_t n = kTokens * kKHeads * kHeadDim;
  rk_tensor ft = rk_test_token_major(f, RK_DTYPE_F32, kKHeads, kHeadDim);
  rk_tensor bt = rk_test_token_major(b, RK_DTYPE_BF16, kKHeads, kHeadDim);
  rk_tensor ht = rk_test_token_major(h, RK_DTYPE_F16, kKHeads, kHeadDim);
  RK_CHECK_STATUS(rk_rope_inv_freq(rope, inv_freq, kPairs, &count), RK_OK);
  rk_test_fill(f, (size_t)n, 4u);
  for (i = 0; i < n; ++i) {
    b[i] = rk_test_bf16_from_float(f[i]);
    f[i] = rk_test_float_from_bf16(b[i]); /* exact in bfloat16 and in half */
    h[i] = rk_test_half_from_float(f[i]);
    RK_CHECK(rk_test_float_from_half(h[i]) == f[i], "test input exact in half");
    f0[i] = f[i];
  }
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, &ft, NULL, 123, NULL), RK_OK);
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, &bt, NULL, 123, NULL), RK_OK);
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, &ht, NULL, 123, NULL), RK_OK);
  for (i = 0; i < n; ++i) RK_CHECK(b[i] == rk_test_bf16_from_float(f[i]), "bf16 = float rounded once");
  for (t = 0; t < kTokens; ++t) {
    float hf[kKHeads * kHeadDim];
    for (i = 0; i < kKHeads * kHeadDim; ++i) hf[i] = rk_test_float_from_half(h[t * kKHeads * kHeadDim + i]);
    for (i = 0; i < kKHeads * kHeadDim; ++i)
      RK_CHECK_NEAR(hf[i], f[t * kKHeads * kHeadDim + i], 1e-3, "half = float rounded once");
    check_rotated(f0 + t * kKHeads * kHeadDim, f + t * kKHeads * kHeadDim, kKHeads, kHeadDim,
                  RK_LAYOUT_INTERLEAVED, inv_freq, kPairs, 123.0 + (double)t, 1.0, "float path");
  }
  RK_CHECK_STATUS(rk_rope_destroy(rope), RK_OK);
}

/* k head-major (one batch entry of BHSD: token_stride head_dim, head_stride
   tokens * head_dim) next to token-major q, partial rotary at an offset. */
static void test_strided_partial(void) {
  enum { kDim = 16, kRot = 8, kOffset = 4, kP = kRot / 2 };
  rk_rope_params p;
  rk_rope* rope = NULL;
  float k[kTokens * kKHeads * kDim], k0[kTokens * kKHeads * kDim];
  double inv_freq[kP];
  int64_t count = 0, t, h, c;
  rk_tensor kt;
  RK_CHECK_STATUS(rk_rope_params_init(&p, RK_POLICY_LINEAR, kDim), RK_OK);
  p.rotary_dim = kRot;
  p.rotary_offset = kOffset;
  p.factor = 4.0;
  RK_CHECK_STATUS(rk_rope_create(&p, &rope), RK_OK);
  RK_CHECK_STATUS(rk_rope_inv_freq(rope, inv_freq, kP, &count), RK_OK);
  for (t = 0; t < kP; ++t)
    RK_CHECK_NEAR(inv_freq[t], pow(10000.0, -2.0 * (double)t / kRot) / 4.0, 1e-15, "linear inv_freq");
  rk_test_fill(k, sizeof k / sizeof k[0], 5u);
  memcpy(k0, k, sizeof k);
  kt.data = k;
  kt.dtype = RK_DTYPE_F32;
  kt.heads = kKHeads;
  kt.head_dim = kDim;
  kt.token_stride = kDim;
  kt.head_stride = kTokens * kDim;
  RK_CHECK_STATUS(rk_rope_apply(rope, kTokens, NULL, &kt, 40, NULL), RK_OK);
  for (t = 0; t < kTokens; ++t) {
    for (h = 0; h < kKHeads; ++h) {
      const float* in = k0 + h * kTokens * kDim + t * kDim;
      const float* out = k + h * kTokens * kDim + t * kDim;
      check_rotated(in + kOffset, out + kOffset, 1, kDim, RK_LAYOUT_HALF_SPLIT, inv_freq, kP,
                    40.0 + (double)t, 1.0, "strided partial");
      for (c = 0; c < kDim; ++c)
        if (c < kOffset || c >= kOffset + kRot) RK_CHECK(out[c] == in[c], "pass-through channel");
    }
  }
  RK_CHECK_STATUS(rk_rope_destroy(rope), RK_OK);
}

/* Llama 3.1's config.json: 32 layers sharing one llama3 rope whose
   frequencies follow the closed form, and which rotates like the same rope
   built from parameters. */
static void test_config_llama31(void) {
  rk_model* model = NULL;
  const rk_rope* layer0 = NULL;
  const rk_rope* layer = NULL;
  rk_rope* explicit_rope = NULL;
  rk_rope_params p;
  rk_rope_info info;
  const char* model_type = NULL;
  double inv_freq[64], explicit_freq[64];
  int64_t layers = 0, count = 0, j, i;
  float a[2 * 8 * 128], b[2 * 8 * 128];
  rk_tensor at = rk_test_token_major(a, RK_DTYPE_F32, 8, 128);
  rk_tensor bt = rk_test_token_major(b, RK_DTYPE_F32, 8, 128);

  RK_CHECK_STATUS(rk_model_load(ROPEKIT_TEST_DATA_DIR "/llama-3.1-8b.json", &model), RK_OK);
  if (model == NULL) return;
  RK_CHECK_STATUS(rk_model_layer_count(model, &layers), RK_OK);
  RK_CHECK(layers == 32, "num_hidden_layers");
  RK_CHECK_STATUS(rk_model_type(model, &model_type), RK_OK);
  RK_CHECK(model_type != NULL && strcmp(model_type, "llama") == 0, "model_type");
  RK_CHECK_STATUS(rk_model_layer_rope(model, 0, &layer0), RK_OK);
  for (i = 1; i < layers; ++i) {
    RK_CHECK_STATUS(rk_model_layer_rope(model, i, &layer), RK_OK);
    RK_CHECK(layer == layer0, "layers share one rope");
  }
  RK_CHECK_STATUS(rk_rope_describe(layer0, &info), RK_OK);
  RK_CHECK(info.head_dim == 128 && info.rotary_dim == 128 && info.layout == RK_LAYOUT_HALF_SPLIT &&
               strcmp(info.policy_name, "llama3") == 0,
           "llama3 rope described");
  RK_CHECK_STATUS(rk_rope_inv_freq(layer0, inv_freq, 64, &count), RK_OK);
  RK_CHECK(count == 64, "llama3 pairs");
  for (j = 0; j < 64; ++j) {
    /* transformers' _compute_llama3_parameters, in double. */
    const double w = pow(500000.0, -2.0 * (double)j / 128.0);
    const double wavelen = 2.0 * 3.14159265358979323846 / w;
    double expect = w;
    if (wavelen > 8192.0) expect = w / 8.0;
    else if (wavelen >= 2048.0) {
      const double smooth = (8192.0 / wavelen - 1.0) / 3.0;
      expect = (1.0 - smooth) * w / 8.0 + smooth * w;
    }
    RK_CHECK_NEAR(inv_freq[j], expect, 1e-12 * expect, "llama3 inv_freq");
  }

  RK_CHECK_STATUS(rk_rope_params_init(&p, RK_POLICY_LLAMA3, 128), RK_OK);
  p.factor = 8.0;
  p.original_max_position_embeddings = 8192;
  p.base = 500000.0;
  RK_CHECK_STATUS(rk_rope_create(&p, &explicit_rope), RK_OK);
  RK_CHECK_STATUS(rk_rope_inv_freq(explicit_rope, explicit_freq, 64, &count), RK_OK);
  for (j = 0; j < 64; ++j) RK_CHECK(explicit_freq[j] == inv_freq[j], "config = parameters");
  rk_test_fill(a, sizeof a / sizeof a[0], 6u);
  memcpy(b, a, sizeof a);
  RK_CHECK_STATUS(rk_rope_apply(layer0, 2, &at, NULL, 100000, NULL), RK_OK);
  RK_CHECK_STATUS(rk_rope_apply(explicit_rope, 2, &bt, NULL, 100000, NULL), RK_OK);
  RK_CHECK(memcmp(a, b, sizeof a) == 0, "model rope and explicit rope rotate alike");
  RK_CHECK_STATUS(rk_rope_destroy(explicit_rope), RK_OK);
  RK_CHECK_STATUS(rk_model_destroy(model), RK_OK);
}

/* Layer by layer: Gemma 3 (local layers default RoPE over base 10000, every
   sixth layer global: linear factor 8 over base 1e6) and SmolLM3 (every
   fourth layer without RoPE). */
static void test_config_per_layer(void) {
  rk_model* model = NULL;
  const rk_rope* local = NULL;
  const rk_rope* global = NULL;
  const rk_rope* layer = NULL;
  rk_rope_info info;
  int64_t layers = 0, i;
  RK_CHECK_STATUS(rk_model_load(ROPEKIT_TEST_DATA_DIR "/gemma-3-4b-it.json", &model), RK_OK);
  if (model == NULL) return;
  RK_CHECK_STATUS(rk_model_layer_count(model, &layers), RK_OK);
  RK_CHECK(layers == 34, "gemma 3 layers");
  RK_CHECK_STATUS(rk_model_layer_rope(model, 0, &local), RK_OK);
  RK_CHECK_STATUS(rk_model_layer_rope(model, 5, &global), RK_OK);
  RK_CHECK(local != NULL && global != NULL && local != global, "two rotations");
  for (i = 0; i < layers; ++i) {
    RK_CHECK_STATUS(rk_model_layer_rope(model, i, &layer), RK_OK);
    RK_CHECK(layer == ((i + 1) % 6 == 0 ? global : local), "gemma 3 layer pattern");
  }
  RK_CHECK_STATUS(rk_rope_describe(local, &info), RK_OK);
  RK_CHECK(strcmp(info.policy_name, "default") == 0 && info.head_dim == 256, "gemma 3 local");
  RK_CHECK_STATUS(rk_rope_describe(global, &info), RK_OK);
  RK_CHECK(strcmp(info.policy_name, "linear") == 0, "gemma 3 global");
  RK_CHECK_STATUS(rk_model_destroy(model), RK_OK);

  model = NULL;
  RK_CHECK_STATUS(rk_model_load(ROPEKIT_TEST_DATA_DIR "/smollm3-3b.json", &model), RK_OK);
  if (model == NULL) return;
  RK_CHECK_STATUS(rk_model_layer_count(model, &layers), RK_OK);
  RK_CHECK(layers == 36, "smollm3 layers");
  RK_CHECK_STATUS(rk_model_layer_rope(model, 0, &global), RK_OK);
  for (i = 0; i < layers; ++i) {
    layer = global; /* must be overwritten either way */
    if ((i + 1) % 4 == 0) {
      RK_CHECK_STATUS(rk_model_layer_rope(model, i, &layer), RK_NO_ROPE);
      RK_CHECK(layer == NULL, "no rope: NULL");
    } else {
      RK_CHECK_STATUS(rk_model_layer_rope(model, i, &layer), RK_OK);
      RK_CHECK(layer != NULL && layer == global, "smollm3: one rope for every RoPE layer");
    }
  }
  RK_CHECK_STATUS(rk_model_destroy(model), RK_OK);
}

/* GPT-J: n_layer, interleaved, 64 of 256 channels. */
static void test_config_gptj(void) {
  rk_model* model = NULL;
  const rk_rope* rope = NULL;
  rk_rope_info info;
  int64_t layers = 0;
  RK_CHECK_STATUS(rk_model_load(ROPEKIT_TEST_DATA_DIR "/gpt-j-6b.json", &model), RK_OK);
  if (model == NULL) return;
  RK_CHECK_STATUS(rk_model_layer_count(model, &layers), RK_OK);
  RK_CHECK(layers == 28, "n_layer");
  RK_CHECK_STATUS(rk_model_layer_rope(model, 27, &rope), RK_OK);
  RK_CHECK_STATUS(rk_rope_describe(rope, &info), RK_OK);
  RK_CHECK(info.head_dim == 256 && info.rotary_dim == 64 && info.layout == RK_LAYOUT_INTERLEAVED,
           "gpt-j rope described");
  RK_CHECK_STATUS(rk_model_destroy(model), RK_OK);
}

/* JSON text, and dynamic NTK's length-dependent state through the C API. */
static void test_config_text(void) {
  const char* json =
      "{\"model_type\": \"llama\", \"num_hidden_layers\": 2, \"hidden_size\": 64, "
      "\"num_attention_heads\": 8, \"max_position_embeddings\": 16, \"rope_theta\": 10000.0, "
      "\"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 2.0}}";
  rk_model* model = NULL;
  const rk_rope* rope = NULL;
  rk_rope_info info;
  double before[kPairs], after[kPairs];
  int64_t count = 0;
  float q[kHeadDim] = {1, 0, 0, 0, 0, 0, 0, 0};
  rk_tensor qt = rk_test_token_major(q, RK_DTYPE_F32, 1, kHeadDim);
  RK_CHECK_STATUS(rk_model_from_json(json, strlen(json), &model), RK_OK);
  if (model == NULL) return;
  RK_CHECK_STATUS(rk_model_layer_rope(model, 1, &rope), RK_OK);
  RK_CHECK_STATUS(rk_rope_describe(rope, &info), RK_OK);
  RK_CHECK(strcmp(info.policy_name, "dynamic") == 0 && info.length_dependent == 1, "dynamic");
  RK_CHECK_STATUS(rk_rope_inv_freq(rope, before, kPairs, &count), RK_OK);
  RK_CHECK_STATUS(rk_rope_apply(rope, 1, &qt, NULL, 63, NULL), RK_OK);
  RK_CHECK_STATUS(rk_rope_inv_freq(rope, after, kPairs, &count), RK_OK);
  /* seq_len 64 > 16: base 1e4 * (2 * 64/16 - 1)^(8/6). */
  RK_CHECK_NEAR(after[1], pow(10000.0 * pow(7.0, 8.0 / 6.0), -2.0 / 8.0), 1e-15, "dynamic grew");
  RK_CHECK(before[1] != after[1], "dynamic state advanced");
  RK_CHECK_STATUS(rk_model_destroy(model), RK_OK);
}

/* Every policy rk_rope_create offers, with the closed forms that are short:
   NTK's grown base, YaRN's attention factor 0.1 ln(s) + 1, LongRoPE's
   sqrt(1 + ln s / ln L0). */
static void test_policies(void) {
  static const double short_factor[kPairs] = {1.0, 1.5, 2.0, 4.0};
  static const double long_factor[kPairs] = {1.0, 2.0, 4.0, 8.0};
  static const char* const names[] = {"default", "fixed_base", "linear", "ntk_aware", "dynamic",
                                      "yarn",    "llama3",     "longrope", "proportional"};
  int policy;
  for (policy = RK_POLICY_DEFAULT; policy <= RK_POLICY_PROPORTIONAL; ++policy) {
    rk_rope_params p;
    rk_rope* rope = NULL;
    rk_rope_info info;
    double inv_freq[kPairs];
    int64_t count = 0;
    RK_CHECK_STATUS(rk_rope_params_init(&p, (rk_policy)policy, kHeadDim), RK_OK);
    p.factor = policy == RK_POLICY_PROPORTIONAL ? 1.0 : 4.0;
    p.max_position_embeddings = 16384;
    p.original_max_position_embeddings = 4096;
    p.short_factor = short_factor;
    p.long_factor = long_factor;
    p.factor_count = kPairs;
    p.partial_rotary_factor = 0.5;
    RK_CHECK_STATUS(rk_rope_create(&p, &rope), RK_OK);
    if (rope == NULL) continue;
    RK_CHECK_STATUS(rk_rope_describe(rope, &info), RK_OK);
    RK_CHECK(strcmp(info.policy_name, names[policy]) == 0, names[policy]);
    RK_CHECK_STATUS(rk_rope_inv_freq(rope, inv_freq, kPairs, &count), RK_OK);
    if (policy == RK_POLICY_NTK_AWARE)
      RK_CHECK_NEAR(inv_freq[1], pow(10000.0 * pow(4.0, 8.0 / 6.0), -2.0 / 8.0), 1e-15, "ntk base");
    if (policy == RK_POLICY_YARN)
      RK_CHECK_NEAR(info.attention_factor, 0.1 * log(4.0) + 1.0, 1e-15, "yarn attention factor");
    if (policy == RK_POLICY_LONGROPE)
      RK_CHECK_NEAR(info.attention_factor, sqrt(1.0 + log(4.0) / log(4096.0)), 1e-15,
                    "longrope attention factor");
    if (policy == RK_POLICY_PROPORTIONAL) /* factor 0.5: pairs 0, 1 rotate; 2, 3 have 0 */
      RK_CHECK(inv_freq[0] == 1.0 && inv_freq[2] == 0.0 && inv_freq[3] == 0.0, "proportional");
    RK_CHECK_STATUS(rk_rope_destroy(rope), RK_OK);
  }
}

int main(void) {
  test_version();
  test_default_closed_form(RK_LAYOUT_HALF_SPLIT);
  test_default_closed_form(RK_LAYOUT_INTERLEAVED);
  test_position_ids();
  test_16_bit();
  test_strided_partial();
  test_policies();
  test_config_llama31();
  test_config_gptj();
  test_config_per_layer();
  test_config_text();
  return rk_test_report("c_api_test");
}
