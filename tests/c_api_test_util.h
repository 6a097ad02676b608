/* SPDX-License-Identifier: Apache-2.0 */
/* Checks and helpers for the C API tests (C11, no test framework). */
#ifndef ROPEKIT_TESTS_C_API_TEST_UTIL_H
#define ROPEKIT_TESTS_C_API_TEST_UTIL_H

#include <ropekit/ropekit.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int rk_test_failures = 0;
static int rk_test_checks = 0;

static inline void rk_test_check(int ok, const char* what, const char* file, int line) {
  ++rk_test_checks;
  if (!ok) {
    ++rk_test_failures;
    fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
  }
}

static inline void rk_test_check_near(double got, double want, double tolerance, const char* what,
                                      const char* file, int line) {
  ++rk_test_checks;
  if (!(fabs(got - want) <= tolerance)) {
    ++rk_test_failures;
    fprintf(stderr, "%s:%d: FAILED: %s: got %.17g, want %.17g (tolerance %g)\n", file, line, what,
            got, want, tolerance);
  }
}

static inline void rk_test_check_status(rk_status got, rk_status want, const char* call,
                                        const char* file, int line) {
  ++rk_test_checks;
  if (got != want) {
    ++rk_test_failures;
    fprintf(stderr, "%s:%d: FAILED: %s returned %s, want %s; message: %s\n", file, line, call,
            rk_status_name(got), rk_status_name(want), rk_last_error());
  }
}

#define RK_CHECK(ok, what) rk_test_check((ok), (what), __FILE__, __LINE__)
#define RK_CHECK_NEAR(got, want, tolerance, what) \
  rk_test_check_near((got), (want), (tolerance), (what), __FILE__, __LINE__)
#define RK_CHECK_STATUS(call, want) rk_test_check_status((call), (want), #call, __FILE__, __LINE__)

static inline int rk_test_report(const char* name) {
  printf("%s: %d checks, %d failed\n", name, rk_test_checks, rk_test_failures);
  return rk_test_failures == 0 ? 0 : 1;
}

/* Token-major [tokens, heads, head_dim] rows. */
static inline rk_tensor rk_test_token_major(void* data, rk_dtype dtype, int64_t heads,
                                            int64_t head_dim) {
  rk_tensor t;
  t.data = data;
  t.dtype = dtype;
  t.heads = heads;
  t.head_dim = head_dim;
  t.token_stride = heads * head_dim;
  t.head_stride = head_dim;
  return t;
}

/* Deterministic values in [-1, 1). */
static inline void rk_test_fill(float* x, size_t n, uint32_t seed) {
  uint32_t s = seed * 2654435761u + 1u;
  size_t i;
  for (i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    x[i] = (float)((double)(s >> 8) / 8388608.0 - 1.0);
  }
}

static inline uint32_t rk_test_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline float rk_test_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* Round to nearest even (finite values). */
static inline uint16_t rk_test_bf16_from_float(float f) {
  const uint32_t u = rk_test_bits(f);
  return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

static inline float rk_test_float_from_bf16(uint16_t b) {
  return rk_test_from_bits((uint32_t)b << 16);
}

/* IEEE half for values that are normal halves and exact (the tests' inputs)
   or zero. */
static inline uint16_t rk_test_half_from_float(float f) {
  const uint32_t u = rk_test_bits(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const int exponent = (int)((u >> 23) & 0xFFu) - 127 + 15;
  if ((u & 0x7FFFFFFFu) == 0) return (uint16_t)sign;
  return (uint16_t)(sign | ((uint32_t)exponent << 10) | ((u >> 13) & 0x3FFu));
}

static inline float rk_test_float_from_half(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  const uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0) return (sign ? -1.0f : 1.0f) * (float)mantissa * 5.9604644775390625e-8f;
  return rk_test_from_bits(sign | ((exponent - 15u + 127u) << 23) | (mantissa << 13));
}

/* A rejected call: the status, the parameter named in the calling thread's
   message (which starts "ropekit: ") and, when a handle's message is given,
   the same text there. */
static inline void rk_test_expect_error(rk_status got, rk_status want, const char* parameter,
                                        const char* handle_message, const char* what) {
  char message[1024];
  RK_CHECK(got == want, what);
  if (got != want)
    fprintf(stderr, "  %s: got %s, want %s (%s)\n", what, rk_status_name(got),
            rk_status_name(want), rk_last_error());
  snprintf(message, sizeof message, "%s", rk_last_error());
  RK_CHECK(strstr(message, parameter) != NULL, what);
  if (strstr(message, parameter) == NULL)
    fprintf(stderr, "  %s: message \"%s\" does not name \"%s\"\n", what, message, parameter);
  RK_CHECK(strncmp(message, "ropekit: ", 9) == 0, "message starts with ropekit:");
  if (handle_message != NULL) RK_CHECK(strcmp(handle_message, message) == 0, "handle message");
}

#endif /* ROPEKIT_TESTS_C_API_TEST_UTIL_H */
