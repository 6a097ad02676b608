# SPDX-License-Identifier: Apache-2.0
# Flags for ropekit's own targets (tests, examples, benchmarks); the library
# target itself imposes nothing on consumers.
function(ropekit_target_flags target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(ROPEKIT_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
    if(ROPEKIT_SANITIZE)
      target_compile_options(${target} PRIVATE -fsanitize=${ROPEKIT_SANITIZE}
                             -fno-sanitize-recover=all -fno-omit-frame-pointer)
      target_link_options(${target} PRIVATE -fsanitize=${ROPEKIT_SANITIZE})
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${ROPEKIT_WERROR}>:/WX>)
  endif()
endfunction()
