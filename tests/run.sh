#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds everything and runs every test. .ci/run calls exactly this script.
#   1. GCC, C++17, -Werror, runtime dispatch: all tests, then the unit suites
#      once per x86 kernel path (ROPEKIT_FORCE_ISA=scalar, avx2, avx512; a
#      path this CPU lacks is reported as skipped);
#   2. Clang, C++20, -Werror, -march=native (compile-time selection), under
#      AddressSanitizer + UndefinedBehaviorSanitizer, best path and scalar;
#   3. AArch64: cross-compiled with g++-aarch64-linux-gnu, the kernel suites
#      (SIMD against scalar, exact angles, properties, closed forms, bad
#      input, FP8 conversions) run on the NEON path under qemu-user. The configuration and tooling suites
#      have no architecture-specific code and run in 1 and 2.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
sh "$root/cmake/install-deps.sh" cmake make g++ clang libclang-rt-14-dev libeigen3-dev \
  libgtest-dev googletest libbenchmark-dev nlohmann-json3-dev g++-aarch64-linux-gnu qemu-user
jobs=$(nproc)

configure_and_build() {
  name=$1
  shift
  echo "=== ropekit: build $name"
  cmake -S "$root" -B "$root/build/test-$name" -DROPEKIT_WERROR=ON "$@" >/dev/null
  cmake --build "$root/build/test-$name" -j "$jobs"
}

run_tests() {
  name=$1
  isa=$2
  shift 2
  echo "=== ropekit: test $name (kernel path: ${isa:-best available})"
  ROPEKIT_FORCE_ISA=$isa ctest --test-dir "$root/build/test-$name" --output-on-failure -j "$jobs" "$@"
}

configure_and_build gcc-cxx17 -DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_STANDARD=17 \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"
run_tests gcc-cxx17 ""
for isa in scalar avx2 avx512; do
  run_tests gcc-cxx17 "$isa" -L unit
done

configure_and_build clang-cxx20-sanitizers -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_STANDARD=20 -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
  -DROPEKIT_NATIVE=ON -DROPEKIT_DYNAMIC_DISPATCH=OFF -DROPEKIT_SANITIZE=address,undefined \
  -DROPEKIT_BUILD_BENCHMARKS=OFF
run_tests clang-cxx20-sanitizers ""
run_tests clang-cxx20-sanitizers scalar -L unit

kernel_suites="simd_test exact_angle_test property_test closed_form_test validation_test fp8_test"
echo "=== ropekit: build aarch64 (kernel suites)"
cmake -S "$root" -B "$root/build/test-aarch64" -DROPEKIT_WERROR=ON \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DROPEKIT_BUILD_BENCHMARKS=OFF -DROPEKIT_BUILD_EXAMPLES=OFF \
  -DROPEKIT_GTEST_SOURCE_DIR=/usr/src/googletest >/dev/null
# shellcheck disable=SC2086
cmake --build "$root/build/test-aarch64" -j "$jobs" --target $kernel_suites
run_tests aarch64 "" -R "$(echo $kernel_suites | tr ' ' '|')"

echo "=== ropekit: all tests passed"
