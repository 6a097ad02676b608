# SPDX-License-Identifier: Apache-2.0
# cmake -P: run a quick subset of the benchmarks with JSON output and check
# that every rotation case reports roofline_ratio (what scripts rely on).
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
set(rotations 0)
foreach(i RANGE ${last})
  string(JSON name GET "${json}" benchmarks ${i} name)
  if(name MATCHES "^(ropekit|naive_loop|eigen_array)/")
    string(JSON ratio ERROR_VARIABLE missing GET "${json}" benchmarks ${i} roofline_ratio)
    if(missing OR NOT ratio GREATER 0)
      message(FATAL_ERROR "${name}: no positive roofline_ratio (${missing})")
    endif()
    math(EXPR rotations "${rotations} + 1")
  endif()
endforeach()
if(rotations LESS 10)
  message(FATAL_ERROR "expected at least 10 rotation cases, got ${rotations}")
endif()
message(STATUS "${rotations} rotation cases, all with roofline_ratio")
