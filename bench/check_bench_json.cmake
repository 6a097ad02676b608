# SPDX-License-Identifier: Apache-2.0
# cmake -P: run a quick subset of the benchmarks with JSON output and check
# that every rotation case reports roofline_ratio (what scripts rely on) and
# the default float case its speed-up over the scalar path, and a scaled
# policy its speed relative to the default policy; that every fused case
# reports roofline_ratio and speedup_vs_unfused (K-shift, re-table, fused
# QK-norm, backward and the KV-cache append among them); that the context names the
# CPU, compiler, flags and kernel path, and that every case but memcpy is
# labelled with the path it ran on.
execute_process(
  COMMAND ${BENCH} --benchmark_format=json --benchmark_min_time=0.001
          --benchmark_filter=llama3_8b/decode1/
  OUTPUT_VARIABLE json ERROR_VARIABLE summary RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "rope_bench failed (${result}):\n${summary}")
endif()
file(WRITE ${OUT} "${json}")
string(JSON count LENGTH "${json}" benchmarks)
if(count LESS 10)
  message(FATAL_ERROR "expected at least 10 cases, got ${count}")
endif()
math(EXPR last "${count} - 1")

# What a reader needs to tell machines and paths apart (run_context.hpp).
foreach(key cpu_model cpu_isa_features compiler build_flags ropekit_dispatch ropekit_isa
            ropekit_isa_forced ropekit_isas_available)
  string(JSON value ERROR_VARIABLE missing GET "${json}" context ${key})
  if(missing OR value STREQUAL "")
    message(FATAL_ERROR "context has no ${key} (${missing})")
  endif()
endforeach()
string(JSON isa GET "${json}" context ropekit_isa)
if(NOT isa MATCHES "^(scalar|avx2|avx512|avx512_bf16|neon)$")
  message(FATAL_ERROR "context ropekit_isa = '${isa}': not a kernel path")
endif()

# Fails unless case `index` has a positive counter `key`.
function(require_positive index key)
  string(JSON name GET "${json}" benchmarks ${index} name)
  string(JSON value ERROR_VARIABLE missing GET "${json}" benchmarks ${index} ${key})
  if(missing OR NOT value GREATER 0)
    message(FATAL_ERROR "${name}: no positive ${key} (${missing})")
  endif()
endfunction()

set(rotations 0)
foreach(i RANGE ${last})
  string(JSON name GET "${json}" benchmarks ${i} name)
  if(NOT name MATCHES "^memcpy/")
    string(JSON label ERROR_VARIABLE missing GET "${json}" benchmarks ${i} label)
    if(missing OR NOT label STREQUAL isa)
      message(FATAL_ERROR "${name}: label '${label}' is not the kernel path '${isa}' (${missing})")
    endif()
  endif()
  if(name MATCHES "^(ropekit|ropekit_cached|naive_loop|eigen_array)/")
    require_positive(${i} roofline_ratio)
    math(EXPR rotations "${rotations} + 1")
  endif()
  if(name STREQUAL "ropekit/llama3_8b/decode1/f32/neox/yarn")
    require_positive(${i} vs_default_policy)
    set(found_relative TRUE)
  endif()
  if(name STREQUAL "ropekit/llama3_8b/decode1/f32/neox/default")
    require_positive(${i} speedup_vs_scalar)
    set(found_speedup TRUE)
  endif()
  if(name MATCHES "^ropekit_fused/")
    require_positive(${i} roofline_ratio)
    require_positive(${i} speedup_vs_unfused)
    list(APPEND fused_cases "${name}")
  endif()
endforeach()
foreach(expected ropekit_fused/llama3_8b/decode1/f32/neox/k_shift
                 ropekit_fused/llama3_8b/decode1/bf16/gptj/k_shift
                 ropekit_fused/llama3_8b/decode1/fp8e4m3/neox/k_shift
                 ropekit_fused/llama3_8b/decode1/f32/neox/retable
                 ropekit_fused/llama3_8b/decode1/bf16/gptj/retable
                 ropekit_fused/llama3_8b/decode1/fp8e4m3/gptj/retable
                 ropekit_fused/llama3_8b/decode1/f32/neox/qk_norm_rope
                 ropekit_fused/llama3_8b/decode1/bf16/gptj/backward
                 ropekit_fused/llama3_8b/decode1/f32/neox/kv_append_bf16
                 ropekit_fused/llama3_8b/decode1/f32/gptj/kv_append_bf16
                 ropekit_fused/llama3_8b/decode1/f32/neox/kv_append_fp8
                 ropekit_fused/llama3_8b/decode1/f32/gptj/kv_append_fp8
                 ropekit_fused/llama3_8b/decode1/bf16/neox/kv_append_bf16
                 ropekit_fused/llama3_8b/decode1/bf16/gptj/kv_append_bf16
                 ropekit_fused/llama3_8b/decode1/bf16/neox/kv_append_fp8
                 ropekit_fused/llama3_8b/decode1/bf16/gptj/kv_append_fp8)
  string(FIND ";${fused_cases};" ";${expected};" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${expected} missing")
  endif()
endforeach()
if(rotations LESS 10)
  message(FATAL_ERROR "expected at least 10 rotation cases, got ${rotations}")
endif()
if(NOT found_relative)
  message(FATAL_ERROR "ropekit/llama3_8b/decode1/f32/neox/yarn missing")
endif()
if(NOT found_speedup)
  message(FATAL_ERROR "ropekit/llama3_8b/decode1/f32/neox/default missing")
endif()
message(STATUS "${rotations} rotation cases on kernel path ${isa}, all with roofline_ratio")
