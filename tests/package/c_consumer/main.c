/* SPDX-License-Identifier: Apache-2.0 */
/* A C11 consumer of the installed C API: includes only ropekit/ropekit.h. */
#include <ropekit/ropekit.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  static const char config[] =
      "{\"num_hidden_layers\": 1, \"head_dim\": 2, \"rope_theta\": 10000.0}";
  rk_model* model = NULL;
  const rk_rope* rope = NULL;
  float q[2] = {1.0f, 0.0f};
  rk_tensor qt = {q, RK_DTYPE_F32, 1, 2, 2, 2};
  int ok;
  if (rk_version() != RK_VERSION ||
      rk_model_from_json(config, strlen(config), &model) != RK_OK ||
      rk_model_layer_rope(model, 0, &rope) != RK_OK ||
      rk_rope_apply(rope, 1, &qt, NULL, 1, NULL) != RK_OK) {
    printf("consumer failed: %s\n", rk_last_error());
    return 1;
  }
  ok = fabs(q[0] - cos(1.0)) < 1e-6 && fabs(q[1] - sin(1.0)) < 1e-6 &&
       rk_rope_apply(rope, -1, &qt, NULL, 0, NULL) == RK_ERR_INVALID_ARGUMENT &&
       strstr(rk_rope_error(rope), "tokens = -1") != NULL;
  rk_model_destroy(model);
  printf(ok ? "consumer ok\n" : "consumer wrong: %f %f\n", q[0], q[1]);
  return ok ? 0 : 1;
}
