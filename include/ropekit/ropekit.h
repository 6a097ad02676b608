/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ropekit's C API: rotary position embeddings (every RoPE scaling variant,
 * exact angles, SIMD kernels) for C engines and for other languages' FFI.
 * C11 (also valid C++); needs only this header and the compiled library
 * (CMake `ropekit::c` shared or `ropekit::c_static`, pkg-config `ropekit`).
 *
 * Conventions
 * - Every function returns an rk_status (RK_OK = 0; errors are negative)
 *   except the version and message queries. No C++ exception crosses into
 *   the caller: every entry point catches everything.
 * - On error nothing is written (no output buffer, no out-parameter, no
 *   rotation state) and the message, which names the parameter and its value,
 *   e.g. "ropekit: rotary_dim = 63: must be even (channels rotate in
 *   pairs)", is kept twice: for the calling thread (rk_last_error) and for
 *   the handle the call was made on (rk_rope_error / rk_model_error).
 * - Sizes, strides and positions are int64_t, strides in elements.
 * - Thread safety is stated per function. Handles are immutable after
 *   creation apart from the state of length-dependent policies (dynamic
 *   NTK, per-call LongRoPE), which ropekit synchronises itself.
 */
#ifndef ROPEKIT_ROPEKIT_H
#define ROPEKIT_ROPEKIT_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(RK_BUILDING_SHARED)
#define RK_API __declspec(dllexport)
#elif defined(RK_STATIC)
#define RK_API
#else
#define RK_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define RK_API __attribute__((visibility("default")))
#else
#define RK_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; rk_version() gives the library's. */
#define RK_VERSION_MAJOR 0
#define RK_VERSION_MINOR 1
#define RK_VERSION_PATCH 0
#define RK_VERSION (RK_VERSION_MAJOR * 10000 + RK_VERSION_MINOR * 100 + RK_VERSION_PATCH)

typedef enum rk_status {
  RK_OK = 0,
  /* rk_model_layer_rope: the layer applies no RoPE (not an error). */
  RK_NO_ROPE = 1,
  /* A parameter is invalid: NULL handle or pointer, bad enum value, bad
     size, stride, position or policy parameter. The message names it. */
  RK_ERR_INVALID_ARGUMENT = -1,
  /* A config.json that cannot be read or describes no valid RoPE; the
     message names the file (or "<json>") and the JSON field. */
  RK_ERR_CONFIG = -2,
  RK_ERR_OUT_OF_MEMORY = -3,
  /* Anything else (a bug in ropekit: please report the message). */
  RK_ERR_INTERNAL = -4
} rk_status;

typedef enum rk_dtype {
  RK_DTYPE_F32 = 0,  /* float */
  RK_DTYPE_BF16 = 1, /* bfloat16, as uint16_t bits */
  RK_DTYPE_F16 = 2,  /* IEEE half, as uint16_t bits */
  /* FP8 (a byte each), for KV caches only (rk_kv_cache, which carries the
     dequantisation scale); rk_tensor arguments take the three above. */
  RK_DTYPE_F8_E4M3 = 3, /* float8_e4m3fn: saturating, no infinities */
  RK_DTYPE_F8_E5M2 = 4  /* float8_e5m2 */
} rk_dtype;

/* Which channels form a rotated pair. */
typedef enum rk_layout {
  /* Pair j is channels (j, j + rotary_dim/2): transformers' rotate_half
     (Llama, Qwen, Mistral, Phi-3, GPT-NeoX), "neox". */
  RK_LAYOUT_HALF_SPLIT = 0,
  /* Pair j is channels (2j, 2j + 1): GPT-J, DeepSeek MLA and llama.cpp's
     LLaMA (GGUF permutes the Q/K rows), "gptj". */
  RK_LAYOUT_INTERLEAVED = 1
} rk_layout;

/* The scaling variant of an explicitly built rope (rk_rope_create). */
typedef enum rk_policy {
  RK_POLICY_DEFAULT = 0,      /* base */
  RK_POLICY_FIXED_BASE = 1,   /* base, pretrained_base */
  RK_POLICY_LINEAR = 2,       /* factor, base */
  RK_POLICY_NTK_AWARE = 3,    /* factor, base: base * factor^(d/(d-2)) */
  RK_POLICY_DYNAMIC_NTK = 4,  /* factor, max_position_embeddings, base */
  RK_POLICY_YARN = 5,         /* factor, original_max_position_embeddings, base,
                                 beta_fast, beta_slow, truncate, mscale,
                                 mscale_all_dim, attention_factor */
  RK_POLICY_LLAMA3 = 6,       /* factor, low_freq_factor, high_freq_factor,
                                 original_max_position_embeddings, base */
  RK_POLICY_LONGROPE = 7,     /* short_factor, long_factor,
                                 original_max_position_embeddings,
                                 max_position_embeddings, base, factor,
                                 attention_factor, longrope_selection */
  RK_POLICY_PROPORTIONAL = 8  /* partial_rotary_factor, base, factor */
} rk_policy;

/* LongRoPE: which factor list a call uses. */
typedef enum rk_longrope_selection {
  /* Long factors iff the call's largest position + 1 exceeds
     original_max_position_embeddings (transformers). */
  RK_LONGROPE_PER_CALL = 0,
  RK_LONGROPE_ALWAYS_SHORT = 1,
  RK_LONGROPE_ALWAYS_LONG = 2
} rk_longrope_selection;

/*
 * Parameters of rk_rope_create. Fill with rk_rope_params_init, then set
 * what your model needs; each policy reads only the fields its rk_policy
 * comment lists. Defaults are transformers' (base 10000, beta_fast 32,
 * beta_slow 1, truncate 1, low/high_freq_factor 1/4, factor 1).
 */
typedef struct rk_rope_params {
  /* sizeof(rk_rope_params), set by rk_rope_params_init: a header and a
     library that disagree are rejected instead of misread. */
  size_t struct_size;
  rk_policy policy;
  rk_layout layout;
  int64_t head_dim;
  /* Channels rotated, even; 0 means head_dim (partial rotary otherwise). */
  int64_t rotary_dim;
  /* First rotated channel (DeepSeek-V4 rotates the last 64 of 512: 448). */
  int64_t rotary_offset;
  double base; /* rope_theta */
  double factor;
  double pretrained_base;
  int64_t max_position_embeddings;
  int64_t original_max_position_embeddings;
  double low_freq_factor;
  double high_freq_factor;
  double beta_fast;
  double beta_slow;
  int truncate; /* nonzero: floor/ceil YaRN's correction range */
  double mscale;
  double mscale_all_dim;
  /* 0: computed by the policy (YaRN, LongRoPE); else used as given. */
  double attention_factor;
  /* LongRoPE: rotary_dim/2 factors each, copied by rk_rope_create. */
  const double* short_factor;
  const double* long_factor;
  int64_t factor_count;
  rk_longrope_selection longrope_selection;
  double partial_rotary_factor; /* proportional */
} rk_rope_params;

/*
 * [tokens, heads, head_dim] elements of one tensor (q or k), strided: head
 * (t, h) starts at element t * token_stride + h * head_stride of `data`.
 * Token-major (BSHD) rows: token_stride = heads * head_dim, head_stride =
 * head_dim. No alignment is required; heads must not overlap.
 */
typedef struct rk_tensor {
  void* data;
  rk_dtype dtype;
  int64_t heads;
  int64_t head_dim;
  int64_t token_stride;
  int64_t head_stride;
} rk_tensor;

/* A rope: one rotation (policy, widths, layout). */
typedef struct rk_rope rk_rope;
/* A model's RoPE, layer by layer, read from its config.json. */
typedef struct rk_model rk_model;

/* What a rope does (rk_rope_describe). */
typedef struct rk_rope_info {
  int64_t head_dim;
  int64_t rotary_dim;
  int64_t rotary_offset;
  rk_layout layout;
  /* "default", "fixed_base", "linear", "ntk_aware", "dynamic", "yarn",
     "llama3", "longrope", "mrope", "proportional" or "vision_2d"; static
     storage. */
  const char* policy_name;
  /* q and k norms scale by this (YaRN, LongRoPE); 1 for most policies. */
  double attention_factor;
  /* 1 when the rotation follows the sequence length (dynamic NTK, per-call
     LongRoPE): a call may then change the frequencies the next one uses. */
  int length_dependent;
  /* Position axes a call needs: 1, or 3 for M-RoPE and 2 for 2-D vision
     RoPE (those take ids the C API does not accept yet). */
  int position_axes;
} rk_rope_info;

/* ---- version and messages (thread-safe) ------------------------------ */

/* The library's version, RK_VERSION's encoding (0.1.0 -> 100). */
RK_API int rk_version(void);
/* "0.1.0"; static storage. */
RK_API const char* rk_version_string(void);
/* "RK_OK", "RK_ERR_INVALID_ARGUMENT", ...; static storage. */
RK_API const char* rk_status_name(rk_status status);
/*
 * The message of the calling thread's last failed call ("" if none). Valid
 * until the same thread's next call into this API. Creation failures (no
 * handle yet) are read here.
 */
RK_API const char* rk_last_error(void);

/* ---- ropes from explicit parameters ------------------------------------ */

/* Fills `params` with the defaults for `policy` over `head_dim` channels.
   Thread-safe. */
RK_API rk_status rk_rope_params_init(rk_rope_params* params, rk_policy policy, int64_t head_dim);

/* Builds a rope; *out is set only on success. Thread-safe. */
RK_API rk_status rk_rope_create(const rk_rope_params* params, rk_rope** out);

/*
 * Frees a rope made by rk_rope_create (NULL is accepted). Not thread-safe:
 * no other call may use the rope during or after it. A rope that belongs
 * to a model (rk_model_layer_rope) is refused with RK_ERR_INVALID_ARGUMENT.
 */
RK_API rk_status rk_rope_destroy(rk_rope* rope);

/* Thread-safe. */
RK_API rk_status rk_rope_describe(const rk_rope* rope, rk_rope_info* out);

/*
 * Copies the inverse frequencies (radians per position, one per pair) the
 * next call would use into out[0 .. capacity); *count receives the number
 * of pairs (rotary_dim / 2) even when capacity is smaller (out may then be
 * NULL). Thread-safe.
 */
RK_API rk_status rk_rope_inv_freq(const rk_rope* rope, double* out, int64_t capacity,
                                  int64_t* count);

/*
 * The message of the last call that failed on `rope`, "" if none; copied
 * into the calling thread's storage, valid until its next call into this
 * API. Thread-safe.
 */
RK_API const char* rk_rope_error(const rk_rope* rope);

/* ---- rotation ------------------------------------------------------------ */

/*
 * Rotates q and k in place, together (cos/sin formed once per token for all
 * heads; q and k may have different head counts, GQA/MQA). Either may be
 * NULL, not both; when both are given they must have the same dtype.
 * Positions: token t is at `position_ids[t]` when position_ids is not NULL
 * (any order, repeats allowed; start_position must then be 0), else at
 * start_position + t. Positions lie in [0, 2^31 - 1].
 * Everything is checked before anything is written.
 * Thread-safe: any number of threads may apply one rope at once (on
 * disjoint buffers).
 */
RK_API rk_status rk_rope_apply(const rk_rope* rope, int64_t tokens, const rk_tensor* q,
                               const rk_tensor* k, int64_t start_position,
                               const int64_t* position_ids);

/*
 * Undoes rk_rope_apply with the frequencies the next call would use:
 * rotates by -angle and divides by the attention factor. Same arguments,
 * same thread safety.
 */
RK_API rk_status rk_rope_apply_inverse(const rk_rope* rope, int64_t tokens, const rk_tensor* q,
                                       const rk_tensor* k, int64_t start_position,
                                       const int64_t* position_ids);

/*
 * The gradient of rk_rope_apply (training): grad_q and grad_k hold
 * dL/d(rotated q, k) and receive dL/d(q, k), in place. RoPE is linear, so
 * this is the transposed rotation times the attention factor m: m^2 times
 * rk_rope_apply_inverse. Same arguments and thread safety as rk_rope_apply;
 * uses the current frequencies and does not advance a length-dependent
 * policy (the forward call already did).
 */
RK_API rk_status rk_rope_apply_backward(const rk_rope* rope, int64_t tokens,
                                        const rk_tensor* grad_q, const rk_tensor* grad_k,
                                        int64_t start_position, const int64_t* position_ids);

/* ---- fused engine steps ------------------------------------------------ */

/* Order of a cache page, as vLLM and flashinfer name them. */
typedef enum rk_kv_layout {
  RK_KV_NHD = 0, /* [pages, page_size, kv_heads, head_dim] (vLLM's default) */
  RK_KV_HND = 1  /* [pages, kv_heads, page_size, head_dim] */
} rk_kv_layout;

/*
 * One layer's paged K and V caches (not owned): `pages` pages of
 * `page_size` token slots of kv_heads x head_dim elements of `dtype`. Fill
 * with rk_kv_cache_init, then set the fields.
 */
typedef struct rk_kv_cache {
  /* sizeof(rk_kv_cache), set by rk_kv_cache_init (see rk_rope_params). */
  size_t struct_size;
  void* k;
  void* v;
  rk_dtype dtype; /* any rk_dtype, FP8 included */
  int64_t pages;
  int64_t page_size;
  int64_t kv_heads;
  int64_t head_dim;
  rk_kv_layout layout;
  /* Elements from one page to the next; 0: packed (page_size * kv_heads *
     head_dim). flashinfer's combined [pages, 2, ...] buffer: k = base,
     v = base + one page, page_stride = two pages. */
  int64_t page_stride;
  /* FP8 only (1 and NULL otherwise): a stored value is the real one divided
     by its scale. Per-head scales (kv_heads floats each, both or neither)
     replace the per-tensor ones. */
  float k_scale;
  float v_scale;
  const float* k_head_scales;
  const float* v_head_scales;
} rk_kv_cache;

/* Zeroes `cache`, sets struct_size, the scales to 1 and layout NHD.
   Thread-safe. */
RK_API rk_status rk_kv_cache_init(rk_kv_cache* cache);

/*
 * One engine step's append, in one pass with cos/sin formed once per
 * token: rotates q in place, writes k rotated and v as it is into their
 * slots of `cache`, each rounded once to the cache's dtype (FP8: value /
 * scale, nearest even, saturating). q, k and v share one dtype (F32, BF16
 * or F16) and `tokens`; k and v have the cache's kv_heads and head_dim.
 * Where the tokens go, exactly one of:
 *   slot_mapping: `tokens` slots (vLLM): slot s is row s % page_size of
 *     page s / page_size;
 *   block_table: `block_count` pages of one sequence: the token at
 *     position p goes to row p % page_size of page block_table[p /
 *     page_size] (the cache row is the rotary position).
 * Positions as rk_rope_apply. Rejected before anything is written: a slot
 * outside the cache, two tokens with one slot, a position past the block
 * table, shapes that do not match, q/k/v overlapping either cache.
 * Thread-safe on disjoint buffers and slots (a length-dependent policy
 * advances as rk_rope_apply does).
 */
RK_API rk_status rk_rope_append_kv(const rk_rope* rope, int64_t tokens, const rk_tensor* q,
                                   const rk_tensor* k, const rk_tensor* v,
                                   const rk_kv_cache* cache, const int64_t* slot_mapping,
                                   const int64_t* block_table, int64_t block_count,
                                   int64_t start_position, const int64_t* position_ids);

/*
 * K-shift (llama.cpp's context shift, StreamingLLM eviction): rotates keys
 * rotated by this rope at positions p to p + delta, in place. `deltas`: one
 * signed delta per token (then `delta` must be 0), or NULL and `delta` for
 * every token; |delta| <= 2^31 - 1, and keeping p + delta in range is the
 * caller's. The angle is formed from the delta exactly; no attention
 * factor is applied (the keys carry it). Shifting by a then b equals
 * shifting by a + b to float rounding. A page of a cache is a tensor:
 * NHD token_stride = kv_heads * head_dim, head_stride = head_dim; HND
 * token_stride = head_dim, head_stride = page_size * head_dim.
 * Thread-safe on disjoint buffers; it does not advance a length-dependent
 * policy (it uses the frequencies the next call would use).
 */
RK_API rk_status rk_rope_shift_keys(const rk_rope* rope, int64_t tokens, const rk_tensor* keys,
                                    int64_t delta, const int64_t* deltas);

/*
 * Per-head RMSNorm of q and k (Qwen3, Gemma 3 q_norm / k_norm) fused with
 * the rotation: x * rsqrt(mean(x^2) + eps) * w, or * (1 + w) with
 * one_plus (Gemma stores w - 1), in float, then rotated as rk_rope_apply.
 * Fill with rk_qk_norm_init.
 */
typedef struct rk_qk_norm {
  size_t struct_size; /* sizeof(rk_qk_norm), set by rk_qk_norm_init */
  const float* q_weight; /* the rope's head_dim floats (needed when q is given) */
  const float* k_weight; /* the same for k */
  double eps;            /* rms_norm_eps: finite, positive, a float */
  int one_plus;          /* nonzero: scale by 1 + w (Gemma) */
} rk_qk_norm;

/* Zeroes `norm`, sets struct_size and eps = 1e-6. Thread-safe. */
RK_API rk_status rk_qk_norm_init(rk_qk_norm* norm);

/*
 * Normalises every head of q with norm->q_weight and of k with
 * norm->k_weight, then rotates both, in one pass and in place. Either
 * tensor may be NULL, not both. Arguments, positions and thread safety as
 * rk_rope_apply.
 */
RK_API rk_status rk_rope_apply_qk_norm(const rk_rope* rope, int64_t tokens, const rk_tensor* q,
                                       const rk_tensor* k, const rk_qk_norm* norm,
                                       int64_t start_position, const int64_t* position_ids);

/* ---- models from config.json ------------------------------------------- */

/*
 * Reads a Hugging Face transformers config.json (as ropekit's C++
 * load_hf_config: rope_scaling / rope_parameters, every variant) and the
 * number of layers (num_hidden_layers, n_layer or num_layers, or the length
 * of layer_types), layer by layer as ropekit's C++ load_hf_model_rope:
 * per-layer-type rope blocks (Gemma 3, Gemma 4), RoPE-free layers (Llama 4,
 * SmolLM3: rk_model_layer_rope gives RK_NO_ROPE).
 * *out is set only on success. Thread-safe.
 */
RK_API rk_status rk_model_load(const char* path, rk_model** out);

/* The same from `length` bytes of JSON text (no terminator needed);
   messages call it "<json>". Thread-safe. */
RK_API rk_status rk_model_from_json(const char* json, size_t length, rk_model** out);

/* Frees a model and the ropes it owns (NULL is accepted). Not thread-safe:
   no other call may use the model or its ropes during or after it. */
RK_API rk_status rk_model_destroy(rk_model* model);

/* The number of layers. Thread-safe. */
RK_API rk_status rk_model_layer_count(const rk_model* model, int64_t* count);

/*
 * The rope layer `layer` applies: RK_OK with *rope set, or RK_NO_ROPE with
 * *rope = NULL for a layer that applies no RoPE. Layers that share a
 * rotation share one rope (so a length-dependent policy keeps one state, as
 * transformers keeps one rotary embedding). The rope belongs to the model:
 * valid until rk_model_destroy, never passed to rk_rope_destroy.
 * Thread-safe.
 */
RK_API rk_status rk_model_layer_rope(const rk_model* model, int64_t layer, const rk_rope** rope);

/* `model_type` from the config ("" when absent); valid until
   rk_model_destroy. Thread-safe. */
RK_API rk_status rk_model_type(const rk_model* model, const char** model_type);

/* As rk_rope_error, for calls on `model`. Thread-safe. */
RK_API const char* rk_model_error(const rk_model* model);

#ifdef __cplusplus
}
#endif

#endif /* ROPEKIT_ROPEKIT_H */
