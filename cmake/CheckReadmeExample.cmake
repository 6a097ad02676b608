# SPDX-License-Identifier: Apache-2.0
# cmake -P: the README's block after the line "<!-- NAME -->" (NAME the
# example's file name, e.g. usage.cpp) must equal examples/NAME without its
# first two comment lines.
file(READ ${README} readme)
file(READ ${EXAMPLE} example)
get_filename_component(name ${EXAMPLE} NAME)
string(REGEX REPLACE "^// SPDX[^\n]*\n//[^\n]*\n" "" example "${example}")
string(FIND "${readme}" "<!-- ${name} -->\n```cpp\n" start)
if(start EQUAL -1)
  message(FATAL_ERROR "README.md has no '<!-- ${name} -->' code block")
endif()
string(LENGTH "<!-- ${name} -->\n```cpp\n" marker_length)
math(EXPR start "${start} + ${marker_length}")
string(SUBSTRING "${readme}" ${start} -1 rest)
string(FIND "${rest}" "```" end)
string(SUBSTRING "${rest}" 0 ${end} block)
if(NOT block STREQUAL example)
  message(FATAL_ERROR "README block differs from examples/${name}:\n--- README\n${block}\n--- ${name}\n${example}")
endif()
