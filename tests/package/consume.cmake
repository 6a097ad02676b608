# SPDX-License-Identifier: Apache-2.0
# Script mode (cmake -P): install ropekit (the package modes), configure,
# build and run a consumer. Fails the test on any non-zero step. MODE:
#   package       C++ consumer, find_package(ropekit)
#   subdirectory  C++ consumer, add_subdirectory(ropekit)
#   c_package     C consumer, find_package(ropekit COMPONENTS c), ropekit::c
#                 and ropekit::c_static, without Eigen
#   c_pkgconfig   C consumer compiled by hand with pkg-config's flags
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "step failed (${result}): ${ARGN}\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

function(expect_ok)
  if(NOT step_output MATCHES "consumer ok")
    message(FATAL_ERROR "consumer printed: ${step_output}")
  endif()
  message(STATUS "${step_output}")
endfunction()

set(prefix ${WORK_DIR}/prefix)
# A sanitized build installs sanitized C libraries: their consumer links the
# same runtime.
set(sanitize_flags "")
set(sanitize_compile "")
if(SANITIZE)
  set(sanitize_compile -fsanitize=${SANITIZE})
  set(sanitize_flags -fsanitize=${SANITIZE})
  # The library's C++ needs the C++ parts of Clang's sanitizer runtimes,
  # which need the C++ runtime.
  if(C_COMPILER MATCHES "clang")
    list(APPEND sanitize_flags -fsanitize-link-c++-runtime -lstdc++)
  endif()
endif()
string(JOIN " " sanitize_link ${sanitize_flags})
if(NOT MODE STREQUAL "subdirectory")
  step(${CMAKE_COMMAND} --install ${ROPEKIT_BINARY_DIR} --prefix ${prefix})
  if(NOT EXISTS ${prefix}/include/ropekit/ropekit.hpp)
    message(FATAL_ERROR "install did not lay out include/ropekit/ropekit.hpp")
  endif()
endif()

if(MODE STREQUAL "c_pkgconfig")
  set(env ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${prefix}/${LIBDIR}/pkgconfig)
  step(${env} ${PKG_CONFIG} --cflags --libs ropekit)
  separate_arguments(flags UNIX_COMMAND "${step_output}")
  step(${C_COMPILER} -std=c11 -Wall -Wextra -Wpedantic -Werror ${sanitize_flags}
       ${CMAKE_CURRENT_LIST_DIR}/c_consumer/main.c ${flags} -lm -o ${WORK_DIR}/consumer)
  step(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/${LIBDIR} ${WORK_DIR}/consumer)
  expect_ok()
  return()
endif()

if(MODE STREQUAL "c_package")
  step(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/c_consumer -B ${WORK_DIR}/build
       -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_BUILD_TYPE=Release
       -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_DISABLE_FIND_PACKAGE_Eigen3=ON
       "-DCMAKE_C_FLAGS=${sanitize_compile}" "-DCMAKE_EXE_LINKER_FLAGS=${sanitize_link}")
  step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
  step(${WORK_DIR}/build/consumer)
  expect_ok()
  step(${WORK_DIR}/build/consumer_static)
  expect_ok()
  return()
endif()

set(consumer_args -S ${CMAKE_CURRENT_LIST_DIR}/consumer -B ${WORK_DIR}/build
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=Release)
if(MODE STREQUAL "package")
  step(${CMAKE_COMMAND} ${consumer_args} -DCMAKE_PREFIX_PATH=${prefix})
else()
  step(${CMAKE_COMMAND} ${consumer_args} -DROPEKIT_SOURCE_DIR=${ROPEKIT_SOURCE_DIR})
endif()
step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
step(${WORK_DIR}/build/consumer)
expect_ok()
