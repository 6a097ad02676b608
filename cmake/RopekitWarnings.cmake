# SPDX-License-Identifier: Apache-2.0
# Flags for ropekit's own targets (tests, examples, benchmarks); the library
# target itself imposes nothing on consumers.
option(ROPEKIT_DYNAMIC_DISPATCH
       "Build ropekit's own targets with runtime ISA dispatch (all x86 paths testable)" ON)
option(ROPEKIT_NATIVE "Build ropekit's own targets with -march=native" OFF)

# ropekit_target_flags(target [BASELINE]): BASELINE keeps the target at the
# compiler's default ISA (no -march=native, no runtime dispatch).
function(ropekit_target_flags target)
  cmake_parse_arguments(ARG "BASELINE" "" "" ${ARGN})
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(ROPEKIT_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
    if(ROPEKIT_NATIVE AND NOT ARG_BASELINE)
      target_compile_options(${target} PRIVATE -march=native)
    endif()
    if(ROPEKIT_SANITIZE)
      target_compile_options(${target} PRIVATE -fsanitize=${ROPEKIT_SANITIZE}
                             -fno-sanitize-recover=all -fno-omit-frame-pointer)
      target_link_options(${target} PRIVATE -fsanitize=${ROPEKIT_SANITIZE})
      # C programs linking the sanitized C API need the C++ parts of the
      # sanitizer runtimes (UBSan's vptr checks), which the C++ driver links.
      get_target_property(type ${target} TYPE)
      if(type STREQUAL "EXECUTABLE")
        set_target_properties(${target} PROPERTIES LINKER_LANGUAGE CXX)
      endif()
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${ROPEKIT_WERROR}>:/WX>)
  endif()
  if(ROPEKIT_DYNAMIC_DISPATCH AND NOT ARG_BASELINE)
    target_compile_definitions(${target} PRIVATE ROPEKIT_DYNAMIC_DISPATCH)
  endif()
endfunction()
