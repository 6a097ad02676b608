# SPDX-License-Identifier: Apache-2.0
# Runs examples/plot_scaling_laws.py once and checks what it drew (cmake -P script).
#   -DPYTHON=<python3 with matplotlib> -DSCRIPT=<plot_scaling_laws.py>
#   -DINSPECT=<ropekit-inspect> -DWORK_DIR=<scratch folder, emptied first>
#   -DARGS=<script arguments, separated by |; relative paths land in WORK_DIR>
#   -DEXPECT=<fragments, separated by |>
#   -DMODE=png|error
#   png:   exit 0; stdout contains every EXPECT; WORK_DIR/PNG is a PNG of at
#          least 400x300 pixels and MIN_BYTES bytes (an empty plot of that size
#          is a few kB; the drawn ones are 40 kB or more)
#   error: exit status != 0, nothing written, stderr contains every EXPECT
#   [-DLAYERED_FROM=<config.json>]: first writes WORK_DIR/layers.json shaped
#   like `ropekit-inspect --layers --json` (an array `layers` with a null entry
#   for a layer without RoPE, entries that carry only the per-layer keys and
#   point into `ropes`), built from `ropekit-inspect CONFIG --json`, so the
#   layer-by-layer path is tested with the ropekit-inspect of this tree.
cmake_minimum_required(VERSION 3.21)

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(fail message)
  message(FATAL_ERROR "plot_scaling_laws.py ${ARGS}: ${message}\n--- stdout:\n${out}\n--- stderr:\n${err}")
endfunction()

if(DEFINED LAYERED_FROM)
  execute_process(COMMAND "${INSPECT}" "${LAYERED_FROM}" --json
                  OUTPUT_VARIABLE plain RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "ropekit-inspect ${LAYERED_FROM} --json: exit status ${rc}")
  endif()
  set(entry "{\"rope\": 0}")
  foreach(key rope_type head_dim rotary_dim layout inv_freq attention_factor)
    string(JSON value GET "${plain}" ${key})
    string(JSON type TYPE "${plain}" ${key})
    if(type STREQUAL "STRING")
      set(value "\"${value}\"")
    endif()
    string(JSON entry SET "${entry}" ${key} "${value}")
  endforeach()
  string(JSON layered SET "{}" ropes "[${plain}]")
  string(JSON layered SET "${layered}" layers "[null, ${entry}, ${entry}]")
  file(WRITE "${WORK_DIR}/layers.json" "${layered}")
endif()

string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND "${PYTHON}" "${SCRIPT}" --inspect "${INSPECT}" ${args}
                WORKING_DIRECTORY "${WORK_DIR}"
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)

if(MODE STREQUAL "error")
  if(rc EQUAL 0)
    fail("exit status 0, expected an error")
  endif()
  file(GLOB written "${WORK_DIR}/*.png")
  if(written)
    fail("wrote ${written} although it failed")
  endif()
  set(text "${err}")
elseif(MODE STREQUAL "png")
  if(NOT rc EQUAL 0)
    fail("exit status ${rc}, expected 0")
  endif()
  set(text "${out}")
else()
  message(FATAL_ERROR "MODE must be png or error")
endif()

string(REPLACE "|" ";" expected "${EXPECT}")
foreach(fragment IN LISTS expected)
  string(FIND "${text}" "${fragment}" at)
  if(at EQUAL -1)
    fail("output lacks '${fragment}'")
  endif()
endforeach()
if(MODE STREQUAL "error")
  return()
endif()

set(png "${WORK_DIR}/${PNG}")
if(NOT EXISTS "${png}")
  fail("did not write ${PNG}")
endif()
file(SIZE "${png}" bytes)
if(bytes LESS MIN_BYTES)
  fail("${PNG} has ${bytes} bytes, expected at least ${MIN_BYTES}")
endif()
# The 8-byte signature, then the IHDR chunk: width and height, big-endian.
file(READ "${png}" head LIMIT 24 HEX)
string(SUBSTRING "${head}" 0 16 signature)
string(SUBSTRING "${head}" 32 8 width_hex)
string(SUBSTRING "${head}" 40 8 height_hex)
if(NOT signature STREQUAL "89504e470d0a1a0a")
  fail("${PNG} is not a PNG (starts ${signature})")
endif()
math(EXPR width "0x${width_hex}")
math(EXPR height "0x${height_hex}")
if(width LESS 400 OR height LESS 300)
  fail("${PNG} is ${width}x${height} pixels, expected at least 400x300")
endif()
