/* SPDX-License-Identifier: Apache-2.0 */
/* One rope shared by several threads through the C API: concurrent applies
   give the single-threaded bytes, and concurrent failures keep each
   thread's own message while the handle's message stays whole. tests/run.sh
   also runs it under ThreadSanitizer. */
#include <ropekit/ropekit.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "c_api_test_util.h"

enum { kThreads = 6, kRounds = 60, kTokens = 4, kHeads = 4, kDim = 64 };
enum { kCount = kTokens * kHeads * kDim };

static rk_rope* shared_rope;
static float input[kCount];
static float expected[kThreads][kCount];

typedef struct {
  int index;
  int wrong_results;
  int wrong_messages;
} worker;

static void* work(void* arg) {
  worker* w = (worker*)arg;
  float x[kCount];
  char want[64];
  int round;
  rk_tensor xt = rk_test_token_major(x, RK_DTYPE_F32, kHeads, kDim);
  for (round = 0; round < kRounds; ++round) {
    const int64_t bad_tokens = -1 - w->index;
    memcpy(x, input, sizeof x);
    if (rk_rope_apply(shared_rope, kTokens, &xt, NULL, 1000 * w->index, NULL) != RK_OK ||
        memcmp(x, expected[w->index], sizeof x) != 0)
      ++w->wrong_results;
    if (rk_rope_apply(shared_rope, bad_tokens, &xt, NULL, 0, NULL) != RK_ERR_INVALID_ARGUMENT)
      ++w->wrong_messages;
    snprintf(want, sizeof want, "ropekit: tokens = %lld:", (long long)bad_tokens);
    if (strncmp(rk_last_error(), want, strlen(want)) != 0) ++w->wrong_messages;
    /* Another thread's failure may have replaced it, never torn it. */
    if (strncmp(rk_rope_error(shared_rope), "ropekit: tokens = -", 19) != 0) ++w->wrong_messages;
  }
  return NULL;
}

int main(void) {
  rk_rope_params p;
  pthread_t threads[kThreads];
  worker workers[kThreads];
  int i;
  rk_tensor et;
  RK_CHECK_STATUS(rk_rope_params_init(&p, RK_POLICY_YARN, kDim), RK_OK);
  p.factor = 4.0;
  p.original_max_position_embeddings = 4096;
  RK_CHECK_STATUS(rk_rope_create(&p, &shared_rope), RK_OK);
  if (shared_rope == NULL) return 1;
  rk_test_fill(input, kCount, 21u);
  for (i = 0; i < kThreads; ++i) {
    memcpy(expected[i], input, sizeof input);
    et = rk_test_token_major(expected[i], RK_DTYPE_F32, kHeads, kDim);
    RK_CHECK_STATUS(rk_rope_apply(shared_rope, kTokens, &et, NULL, 1000 * i, NULL), RK_OK);
  }
  for (i = 0; i < kThreads; ++i) {
    workers[i].index = i;
    workers[i].wrong_results = 0;
    workers[i].wrong_messages = 0;
    RK_CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0, "thread started");
  }
  for (i = 0; i < kThreads; ++i) {
    RK_CHECK(pthread_join(threads[i], NULL) == 0, "thread joined");
    RK_CHECK(workers[i].wrong_results == 0, "concurrent applies give the single-threaded bytes");
    RK_CHECK(workers[i].wrong_messages == 0, "each thread reads its own message");
  }
  RK_CHECK_STATUS(rk_rope_destroy(shared_rope), RK_OK);
  return rk_test_report("c_api_concurrency_test");
}
