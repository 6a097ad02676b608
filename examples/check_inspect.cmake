# SPDX-License-Identifier: Apache-2.0
# Runs ropekit-inspect once and checks what it printed (cmake -P script).
#   -DINSPECT=<exe> -DARGS=<arguments separated by |> -DMODE=text|json|error
#   [-DEMULATOR=<cross-compiling emulator, arguments separated by |>]
#   text:  exit 0, nothing on stderr, stdout contains every EXPECT (| list)
#   json:  exit 0, stdout parses as one JSON object with the documented keys;
#          EXPECT_ROPE_TYPE, EXPECT_LAYOUT, EXPECT_ROTARY_DIM and
#          EXPECT_DETAIL (key=value) are compared when given; with
#          -DROUNDTRIP=<checker> -DCHECK_NAME=<name> the checker re-reads the
#          output and compares it bit for bit with the library
#   layers: exit 0, stdout parses as one JSON object whose "layers" array
#          has EXPECT_LAYERS entries, EXPECT_NO_ROPE of them null and the
#          others objects with the documented keys; EXPECT_LAYER
#          (index:key=value, | list) compared when given; ROUNDTRIP as json
#   error: exit 2, nothing on stdout, exactly one non-empty line on stderr
cmake_minimum_required(VERSION 3.21)

string(REPLACE "|" ";" args "${ARGS}")
string(REPLACE "|" ";" emulator "${EMULATOR}")
string(REPLACE "|" ";" ROUNDTRIP_ARGS "${ROUNDTRIP_ARGS}")
execute_process(COMMAND ${emulator} "${INSPECT}" ${args}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)

function(fail message)
  message(FATAL_ERROR "ropekit-inspect ${ARGS}: ${message}\n--- stdout:\n${out}\n--- stderr:\n${err}")
endfunction()

# Fails unless the output's member at the JSON path that follows is `want`.
function(expect_value want what)
  string(JSON got ERROR_VARIABLE json_error GET "${out}" ${ARGN})
  if(json_error OR NOT got STREQUAL want)
    fail("${what} is '${got}', expected '${want}' ${json_error}")
  endif()
endfunction()

# Fails unless every key=TYPE that follows names a member of the JSON text
# `json` of that JSON type; `what` prefixes the key in the message.
function(expect_types json what)
  foreach(pair IN LISTS ARGN)
    string(REPLACE "=" ";" pair "${pair}")
    list(GET pair 0 key)
    list(GET pair 1 want)
    string(JSON got ERROR_VARIABLE json_error TYPE "${json}" ${key})
    if(json_error OR NOT got STREQUAL want)
      fail("${what}${key} is '${got}', expected ${want} ${json_error}")
    endif()
  endforeach()
endfunction()

if(MODE STREQUAL "error")
  if(NOT rc EQUAL 2)
    fail("exit status ${rc}, expected 2")
  endif()
  if(NOT out STREQUAL "")
    fail("printed to stdout on error")
  endif()
  string(REGEX MATCHALL "\n" newlines "${err}")
  list(LENGTH newlines lines)
  if(NOT lines EQUAL 1 OR NOT err MATCHES "^ropekit-inspect: [^\n]+\n$")
    fail("stderr is not one 'ropekit-inspect: ...' line")
  endif()
  return()
endif()

if(NOT rc EQUAL 0)
  fail("exit status ${rc}, expected 0")
endif()
if(NOT err STREQUAL "")
  fail("wrote to stderr")
endif()

if(MODE STREQUAL "text")
  string(REPLACE "|" ";" expected "${EXPECT}")
  foreach(fragment IN LISTS expected)
    string(FIND "${out}" "${fragment}" at)
    if(at EQUAL -1)
      fail("output lacks '${fragment}'")
    endif()
  endforeach()
  return()
endif()

# The round trip: a C++ checker parses the output again and compares it bit
# for bit with what the library computes for the same config.
function(roundtrip)
  set(json_file "${CMAKE_CURRENT_BINARY_DIR}/inspect_${CHECK_NAME}.json")
  file(WRITE "${json_file}" "${out}")
  execute_process(COMMAND ${emulator} "${ROUNDTRIP}" "${json_file}" ${ROUNDTRIP_ARGS}
                  OUTPUT_VARIABLE check_out ERROR_VARIABLE check_err RESULT_VARIABLE check_rc)
  if(NOT check_rc EQUAL 0)
    fail("round-trip check failed: ${check_out}${check_err}")
  endif()
endfunction()

if(MODE STREQUAL "layers")
  string(JSON layers_type ERROR_VARIABLE json_error TYPE "${out}" layers)
  if(json_error OR NOT layers_type STREQUAL "ARRAY")
    fail("stdout has no 'layers' array: ${json_error}")
  endif()
  string(JSON count LENGTH "${out}" layers)
  if(NOT count EQUAL EXPECT_LAYERS)
    fail("${count} layers, expected ${EXPECT_LAYERS}")
  endif()
  set(no_rope 0)
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    # Each entry once from the whole output, then its fields from it.
    string(JSON layer GET "${out}" layers ${i})
    string(JSON type TYPE "${out}" layers ${i})
    if(type STREQUAL "NULL")
      math(EXPR no_rope "${no_rope} + 1")
      continue()
    endif()
    expect_types("${layer}" "layers[${i}]." rope_type=STRING head_dim=NUMBER rotary_dim=NUMBER
                 layout=STRING inv_freq=ARRAY attention_factor=NUMBER base=NUMBER
                 layer_type=STRING)
    string(JSON rotary_dim GET "${layer}" rotary_dim)
    string(JSON pairs LENGTH "${layer}" inv_freq)
    math(EXPR want_pairs "${rotary_dim} / 2")
    if(NOT pairs EQUAL want_pairs)
      fail("layers[${i}].inv_freq has ${pairs} entries, expected ${want_pairs}")
    endif()
  endforeach()
  if(NOT no_rope EQUAL EXPECT_NO_ROPE)
    fail("${no_rope} layers without RoPE (null), expected ${EXPECT_NO_ROPE}")
  endif()
  string(REPLACE "|" ";" expected "${EXPECT_LAYER}")
  foreach(item IN LISTS expected)
    string(REGEX MATCH "^([0-9]+):([a-z_]+)=(.*)$" matched "${item}")
    if(NOT matched)
      message(FATAL_ERROR "EXPECT_LAYER item '${item}' is not index:key=value")
    endif()
    expect_value("${CMAKE_MATCH_3}" "layers[${CMAKE_MATCH_1}].${CMAKE_MATCH_2}"
                 layers ${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
  endforeach()
  if(DEFINED ROUNDTRIP)
    roundtrip()
  endif()
  return()
endif()

if(NOT MODE STREQUAL "json")
  message(FATAL_ERROR "MODE must be text, json, layers or error")
endif()

string(JSON root_type ERROR_VARIABLE json_error TYPE "${out}")
if(json_error OR NOT root_type STREQUAL "OBJECT")
  fail("stdout is not a JSON object: ${json_error}")
endif()
# Documented keys and their JSON types.
expect_types("${out}" "key " rope_type=STRING head_dim=NUMBER rotary_dim=NUMBER layout=STRING
             inv_freq=ARRAY attention_factor=NUMBER critical_dimension=NUMBER
             extrapolation_bound=NUMBER policy=STRING base=NUMBER wavelength=ARRAY)

string(JSON rope_type GET "${out}" rope_type)
string(JSON layout GET "${out}" layout)
string(JSON rotary_dim GET "${out}" rotary_dim)
string(JSON pairs LENGTH "${out}" inv_freq)
string(JSON wavelengths LENGTH "${out}" wavelength)
math(EXPR want_pairs "${rotary_dim} / 2")
if(NOT pairs EQUAL want_pairs OR NOT wavelengths EQUAL want_pairs)
  fail("inv_freq has ${pairs} entries and wavelength ${wavelengths}, expected ${want_pairs}")
endif()
if(DEFINED EXPECT_ROPE_TYPE AND NOT rope_type STREQUAL EXPECT_ROPE_TYPE)
  fail("rope_type '${rope_type}', expected '${EXPECT_ROPE_TYPE}'")
endif()
if(DEFINED EXPECT_LAYOUT AND NOT layout STREQUAL EXPECT_LAYOUT)
  fail("layout '${layout}', expected '${EXPECT_LAYOUT}'")
endif()
if(DEFINED EXPECT_ROTARY_DIM AND NOT rotary_dim EQUAL EXPECT_ROTARY_DIM)
  fail("rotary_dim ${rotary_dim}, expected ${EXPECT_ROTARY_DIM}")
endif()
if(DEFINED EXPECT_DETAIL)
  string(REPLACE "=" ";" detail "${EXPECT_DETAIL}")
  list(GET detail 0 key)
  list(GET detail 1 want)
  expect_value("${want}" "policy_details.${key}" policy_details ${key})
endif()
if(DEFINED ROUNDTRIP)
  roundtrip()
endif()
