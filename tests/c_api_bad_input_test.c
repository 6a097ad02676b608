/* SPDX-License-Identifier: Apache-2.0 */
/* The C API's bad input: every rejected call returns the right status, its
   message names the parameter (read per thread and per handle), and nothing
   is written: not the buffers, not the out-parameters. */
#include <ropekit/ropekit.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "c_api_test_util.h"

enum { kDim = 8, kTokens = 2, kHeads = 2, kCount = kTokens * kHeads * kDim };

static float q[kCount], k[kCount], q_saved[kCount], k_saved[kCount];

/* `handle_message` is read after `call` returns. */
#define EXPECT_ON_HANDLE(call, want, parameter, handle_message, what)             \
  do {                                                                            \
    const rk_status status_ = (call);                                             \
    rk_test_expect_error(status_, (want), (parameter), (handle_message), (what)); \
  } while (0)

static void expect_untouched(const char* what) {
  RK_CHECK(memcmp(q, q_saved, sizeof q) == 0 && memcmp(k, k_saved, sizeof k) == 0, what);
}

static void test_apply(void) {
  rk_rope_params p;
  rk_rope* rope = NULL;
  rk_tensor qt = rk_test_token_major(q, RK_DTYPE_F32, kHeads, kDim);
  rk_tensor kt = rk_test_token_major(k, RK_DTYPE_F32, kHeads, kDim);
  rk_tensor bad;
  const int64_t negative_id[kTokens] = {0, -5};
  const int64_t huge_id[kTokens] = {2147483648LL, 0};
  RK_CHECK_STATUS(rk_rope_params_init(&p, RK_POLICY_DEFAULT, kDim), RK_OK);
  RK_CHECK_STATUS(rk_rope_create(&p, &rope), RK_OK);
  if (rope == NULL) return;
  rk_test_fill(q, kCount, 11u);
  rk_test_fill(k, kCount, 12u);
  memcpy(q_saved, q, sizeof q);
  memcpy(k_saved, k, sizeof k);

#define APPLY_FAILS(call, parameter, what)                                                   \
  do {                                                                                       \
    const rk_status status_ = (call);                                                        \
    rk_test_expect_error(status_, RK_ERR_INVALID_ARGUMENT, (parameter), rk_rope_error(rope), \
                         (what));                                                            \
    expect_untouched(what);                                                                  \
  } while (0)

  rk_test_expect_error(rk_rope_apply(NULL, kTokens, &qt, &kt, 0, NULL), RK_ERR_INVALID_ARGUMENT,
                       "rope", NULL, "NULL rope");
  APPLY_FAILS(rk_rope_apply(rope, kTokens, NULL, NULL, 0, NULL), "q = NULL", "no tensor");
  APPLY_FAILS(rk_rope_apply(rope, -1, &qt, &kt, 0, NULL), "tokens = -1", "negative tokens");
  bad = qt;
  bad.dtype = (rk_dtype)7;
  APPLY_FAILS(rk_rope_apply(rope, kTokens, &bad, &kt, 0, NULL), "q.dtype = 7", "bad dtype");
  bad = kt;
  bad.dtype = RK_DTYPE_BF16;
  APPLY_FAILS(rk_rope_apply(rope, kTokens, &qt, &bad, 0, NULL), "k.dtype = 1", "dtype mismatch");
  bad = kt;
  bad.head_dim = kDim - 1;
  bad.head_stride = kDim - 1;
  APPLY_FAILS(rk_rope_apply(rope, kTokens, &qt, &bad, 0, NULL), "k.head_dim = 7", "head_dim");
  bad = qt;
  bad.token_stride = kDim / 2; /* tokens overlap */
  APPLY_FAILS(rk_rope_apply(rope, kTokens, &bad, &kt, 0, NULL), "q.token_stride = 4", "overlap");
  bad = qt;
  bad.head_stride = -1;
  APPLY_FAILS(rk_rope_apply(rope, kTokens, &bad, NULL, 0, NULL), "q.head_stride = -1", "stride");
  bad = kt;
  bad.data = NULL;
  APPLY_FAILS(rk_rope_apply(rope, kTokens, NULL, &bad, 0, NULL), "k.data", "NULL data");
  bad = kt;
  bad.data = q; /* k on q's memory */
  APPLY_FAILS(rk_rope_apply(rope, kTokens, &qt, &bad, 0, NULL), "k", "q and k share memory");
  APPLY_FAILS(rk_rope_apply(rope, kTokens, &qt, &kt, -1, NULL), "start position = -1",
              "negative start");
  APPLY_FAILS(rk_rope_apply(rope, kTokens, &qt, &kt, 2147483647, NULL), "position",
              "last position past 2^31 - 1");
  APPLY_FAILS(rk_rope_apply(rope, kTokens, &qt, &kt, 3, negative_id), "start_position = 3",
              "start with ids");
  APPLY_FAILS(rk_rope_apply(rope, kTokens, &qt, &kt, 0, negative_id), "position id [1] = -5",
              "negative id");
  APPLY_FAILS(rk_rope_apply(rope, kTokens, &qt, &kt, 0, huge_id), "position id [0] = 2147483648",
              "id too large");
  bad = kt;
  bad.head_dim = 4;
  bad.head_stride = 4;
  APPLY_FAILS(rk_rope_apply_inverse(rope, kTokens, NULL, &bad, 0, NULL), "k.head_dim = 4",
              "inverse, k alone");
  bad = qt;
  bad.head_dim = 4;
  bad.head_stride = 4;
  APPLY_FAILS(rk_rope_apply_inverse(rope, kTokens, &bad, NULL, 0, NULL), "q.head_dim = 4",
              "inverse, q alone");
#undef APPLY_FAILS
  /* The handle keeps its last failure; the thread's message moves on. */
  EXPECT_ON_HANDLE(rk_rope_inv_freq(rope, NULL, 4, NULL), RK_ERR_INVALID_ARGUMENT, "count",
                   rk_rope_error(rope), "inv_freq without count");
  RK_CHECK_STATUS(rk_rope_destroy(rope), RK_OK);
  RK_CHECK_STATUS(rk_rope_destroy(NULL), RK_OK);
}

static void test_create(void) {
  rk_rope_params p;
  static int sentinel_storage;
  rk_rope* const sentinel = (rk_rope*)&sentinel_storage;
  rk_rope* rope = sentinel;
  const double factors[2] = {1.0, 1.0};

#define CREATE_FAILS(setup, parameter, what)                                                    \
  do {                                                                                          \
    RK_CHECK_STATUS(rk_rope_params_init(&p, RK_POLICY_DEFAULT, kDim), RK_OK);                   \
    setup;                                                                                      \
    rope = sentinel;                                                                            \
    rk_test_expect_error(rk_rope_create(&p, &rope), RK_ERR_INVALID_ARGUMENT, (parameter), NULL, \
                         (what));                                                               \
    RK_CHECK(rope == sentinel, "out untouched on failure");                                     \
  } while (0)

  CREATE_FAILS(p.rotary_dim = 7, "rotary_dim = 7", "odd rotary_dim");
  CREATE_FAILS(p.head_dim = 0, "head_dim = 0", "zero head_dim");
  CREATE_FAILS(p.rotary_offset = 4, "offset = 4", "offset past the head");
  CREATE_FAILS(p.base = -1.0, "base = -1", "negative base");
  CREATE_FAILS(p.policy = (rk_policy)99, "policy = 99", "bad policy");
  CREATE_FAILS(p.layout = (rk_layout)5, "layout = 5", "bad layout");
  CREATE_FAILS(p.struct_size = 8, "params.struct_size = 8", "struct size");
  CREATE_FAILS((p.policy = RK_POLICY_LINEAR, p.factor = 0.0), "factor = 0", "linear factor");
  CREATE_FAILS((p.policy = RK_POLICY_DYNAMIC_NTK, p.factor = 2.0), "max_position_embeddings = 0",
               "dynamic without length");
  CREATE_FAILS((p.policy = RK_POLICY_YARN, p.factor = 4.0,
                p.original_max_position_embeddings = 4096, p.beta_fast = 0.5),
               "beta_fast = 0.5", "yarn ramp inverted");
  CREATE_FAILS((p.policy = RK_POLICY_LLAMA3, p.factor = 8.0), "original_max_position_embeddings",
               "llama3 without length");
  CREATE_FAILS((p.policy = RK_POLICY_LONGROPE, p.factor_count = 2, p.short_factor = factors),
               "long_factor = NULL", "longrope without long factors");
  CREATE_FAILS((p.policy = RK_POLICY_LONGROPE, p.factor_count = 2, p.short_factor = factors,
                p.long_factor = factors, p.original_max_position_embeddings = 4096,
                p.max_position_embeddings = 8192, p.factor = 0.0),
               "short_factor", "longrope list length");
  CREATE_FAILS((p.policy = RK_POLICY_PROPORTIONAL, p.partial_rotary_factor = 1.5),
               "partial_rotary_factor = 1.5", "proportional factor");
#undef CREATE_FAILS
  rk_test_expect_error(rk_rope_create(NULL, &rope), RK_ERR_INVALID_ARGUMENT, "params", NULL,
                       "NULL params");
  rk_test_expect_error(rk_rope_params_init(NULL, RK_POLICY_DEFAULT, kDim), RK_ERR_INVALID_ARGUMENT,
                       "params", NULL, "init NULL");
}

static void test_models(void) {
  static const char no_layers[] = "{\"head_dim\": 8, \"rope_theta\": 10000.0}";
  static const char bad_factor[] =
      "{\"num_hidden_layers\": 2, \"head_dim\": 8, "
      "\"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": \"4\"}}";
  static const char good[] = "{\"num_hidden_layers\": 3, \"head_dim\": 8}";
  static int sentinel_storage;
  rk_model* const sentinel = (rk_model*)&sentinel_storage;
  rk_model* model = sentinel;
  const rk_rope* rope = NULL;
  int64_t layers = -7;

  rk_test_expect_error(rk_model_load(ROPEKIT_TEST_DATA_DIR "/no-such-config.json", &model),
                       RK_ERR_CONFIG, "no-such-config.json: cannot open", NULL, "missing file");
  rk_test_expect_error(rk_model_load(ROPEKIT_TEST_DATA_DIR, &model), RK_ERR_CONFIG,
                       "is a directory", NULL, "directory");
  rk_test_expect_error(rk_model_load(NULL, &model), RK_ERR_INVALID_ARGUMENT, "path = NULL", NULL,
                       "NULL path");
  rk_test_expect_error(rk_model_from_json("{\"head_dim\": ", 13, &model), RK_ERR_CONFIG,
                       "<json>: not valid JSON", NULL, "truncated JSON");
  rk_test_expect_error(rk_model_from_json(bad_factor, sizeof bad_factor - 1, &model), RK_ERR_CONFIG,
                       "rope_scaling.factor = \"4\"", NULL, "factor as a string");
  rk_test_expect_error(rk_model_from_json(no_layers, sizeof no_layers - 1, &model), RK_ERR_CONFIG,
                       "num_hidden_layers", NULL, "no layer count");
  rk_test_expect_error(rk_model_from_json(good, sizeof good - 1, NULL), RK_ERR_INVALID_ARGUMENT,
                       "out = NULL", NULL, "NULL out");
  RK_CHECK(model == sentinel, "model untouched on failure");

  RK_CHECK_STATUS(rk_model_from_json(good, sizeof good - 1, &model), RK_OK);
  if (model == sentinel) return;
  EXPECT_ON_HANDLE(rk_model_layer_rope(model, 3, &rope), RK_ERR_INVALID_ARGUMENT, "layer = 3",
                   rk_model_error(model), "layer past the end");
  EXPECT_ON_HANDLE(rk_model_layer_rope(model, -1, &rope), RK_ERR_INVALID_ARGUMENT, "layer = -1",
                   rk_model_error(model), "negative layer");
  RK_CHECK(rope == NULL, "rope untouched on failure");
  rk_test_expect_error(rk_model_layer_count(NULL, &layers), RK_ERR_INVALID_ARGUMENT, "model = NULL",
                       NULL, "NULL model");
  RK_CHECK(layers == -7, "count untouched on failure");
  RK_CHECK_STATUS(rk_model_layer_rope(model, 2, &rope), RK_OK);
  EXPECT_ON_HANDLE(rk_rope_destroy((rk_rope*)rope), RK_ERR_INVALID_ARGUMENT, "rope",
                   rk_rope_error(rope), "destroying a model's rope");
  RK_CHECK_STATUS(rk_model_destroy(model), RK_OK);
  RK_CHECK_STATUS(rk_model_destroy(NULL), RK_OK);
}

int main(void) {
  RK_CHECK(strcmp(rk_last_error(), "") == 0, "no message before a failure");
  test_apply();
  test_create();
  test_models();
  return rk_test_report("c_api_bad_input_test");
}
