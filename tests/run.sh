#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds everything and runs every test, three ways:
#   1. GCC, C++17, -Wall -Wextra -Wpedantic -Werror, Release (also builds the benchmarks);
#   2. Clang, C++20, same warnings;
#   3. GCC, C++17, AddressSanitizer + UndefinedBehaviorSanitizer.
# .ci/run calls exactly this script.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
sh "$root/cmake/install-deps.sh" cmake make g++ clang libeigen3-dev libgtest-dev \
  libbenchmark-dev
jobs=$(nproc)

run_build() {
  name=$1
  shift
  build="$root/build/test-$name"
  echo "=== ropekit tests: $name"
  cmake -S "$root" -B "$build" -DROPEKIT_WERROR=ON "$@" >/dev/null
  cmake --build "$build" -j "$jobs"
  ctest --test-dir "$build" --output-on-failure -j "$jobs"
}

run_build gcc-cxx17 -DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_STANDARD=17 \
  -DCMAKE_BUILD_TYPE=Release
run_build clang-cxx20 -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_STANDARD=20 \
  -DCMAKE_BUILD_TYPE=Release -DROPEKIT_BUILD_BENCHMARKS=OFF
run_build asan-ubsan -DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_STANDARD=17 \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DROPEKIT_SANITIZE=address,undefined \
  -DROPEKIT_BUILD_BENCHMARKS=OFF
echo "=== ropekit tests: all passed"
