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
#      input, FP8 conversions, rotate-into and the KV-cache append) run on
#      the NEON path under qemu-user. The configuration and tooling suites
#      have no architecture-specific code and run in 1 and 2.
# It ends with one line per build naming the kernel paths its suites ran on
# and those skipped for lack of hardware, as the test binaries reported them.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
sh "$root/cmake/install-deps.sh" cmake make g++ clang libclang-rt-14-dev libeigen3-dev \
  libgtest-dev googletest libbenchmark-dev nlohmann-json3-dev g++-aarch64-linux-gnu qemu-user
jobs=$(nproc)

# Per build: the kernel paths its suites ran on and those they skipped, taken
# from what each test binary printed (tests/test_main.cpp): "ropekit: kernel
# path X" when it ran on X, "ROPEKIT_FORCE_ISA=X cannot run" (exit 77) when X
# could not run here. Collected from ctest's JUnit log of every run.
paths_run=""
paths_skipped=""
paths_default=""
report=""

configure_and_build() {
  name=$1
  shift
  paths_run=""
  paths_skipped=""
  paths_default=""
  echo "=== ropekit: build $name"
  cmake -S "$root" -B "$root/build/test-$name" -DROPEKIT_WERROR=ON "$@" >/dev/null
  cmake --build "$root/build/test-$name" -j "$jobs"
}

run_tests() {
  name=$1
  isa=$2
  shift 2
  echo "=== ropekit: test $name (kernel path: ${isa:-best available})"
  log="$root/build/test-$name/ctest-${isa:-best}.xml"
  rm -f "$log"
  ROPEKIT_FORCE_ISA=$isa ctest --test-dir "$root/build/test-$name" --output-on-failure -j "$jobs" \
    --output-junit "$log" "$@"
  ran=$(grep -o 'ropekit: kernel path [a-z0-9]*' "$log" | sed 's/.* //' | sort -u | tr '\n' ' ')
  skipped=$(grep -o 'ROPEKIT_FORCE_ISA=[a-z0-9]* cannot run' "$log" | sed 's/.*=//; s/ .*//' |
    sort -u | tr '\n' ' ')
  # Exactly one outcome per run: every suite on one path, or every suite skipped.
  case "$ran$skipped" in
    "") echo "ropekit: no suite of $name reported its kernel path" >&2; exit 1 ;;
    *" "?*) echo "ropekit: $name, forced '${isa}': ran on '$ran', skipped '$skipped'" >&2; exit 1 ;;
  esac
  if [ -n "$isa" ] && [ "$ran$skipped" != "$isa " ]; then
    echo "ropekit: $name: ROPEKIT_FORCE_ISA=$isa, but the suites report '$ran$skipped'" >&2
    exit 1
  fi
  # A forced run selects only suites built on test_main: each must report.
  suites=$(grep -c '<testcase ' "$log")
  reports=$(grep -c -e 'ropekit: kernel path ' -e 'ROPEKIT_FORCE_ISA=[a-z0-9]* cannot run' "$log")
  if [ -n "$isa" ] && [ "$reports" != "$suites" ]; then
    echo "ropekit: $name: $suites suites ran with ROPEKIT_FORCE_ISA=$isa, $reports reported a path" >&2
    exit 1
  fi
  paths_run="$paths_run $ran"
  paths_skipped="$paths_skipped $skipped"
  if [ -z "$isa" ]; then paths_default=$ran; fi
  if [ -n "$ran" ]; then
    echo "=== ropekit: $name: suites ran on kernel path ${ran% }"
  else
    echo "=== ropekit: $name: kernel path ${skipped% } SKIPPED (this CPU or build cannot run it)"
  fi
}

# Appends this build's line to the report printed last.
paths_line() {
  ordered() {
    out=""
    for p in scalar neon avx2 avx512; do
      case " $1 " in *" $p "*) out="$out $p" ;; esac
    done
    echo "${out# }"
  }
  run=$(ordered "$paths_run")
  skipped=$(ordered "$paths_skipped")
  unforced=${paths_default% }
  report="$report
$1: kernel paths run: ${run:-none}; skipped: ${skipped:-none}${unforced:+ (unforced: $unforced)}"
}

configure_and_build gcc-cxx17 -DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_STANDARD=17 \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"
run_tests gcc-cxx17 ""
for isa in scalar avx2 avx512; do
  run_tests gcc-cxx17 "$isa" -L unit
done
paths_line "gcc-cxx17"

configure_and_build clang-cxx20-sanitizers -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_STANDARD=20 -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
  -DROPEKIT_NATIVE=ON -DROPEKIT_DYNAMIC_DISPATCH=OFF -DROPEKIT_SANITIZE=address,undefined \
  -DROPEKIT_BUILD_BENCHMARKS=OFF
run_tests clang-cxx20-sanitizers ""
run_tests clang-cxx20-sanitizers scalar -L unit
paths_line "clang-cxx20-sanitizers"

kernel_suites="simd_test exact_angle_test property_test closed_form_test validation_test fp8_test
  rotate_into_test kv_cache_test"
echo "=== ropekit: build aarch64 (kernel suites)"
paths_run=""
paths_skipped=""
paths_default=""
cmake -S "$root" -B "$root/build/test-aarch64" -DROPEKIT_WERROR=ON \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DROPEKIT_BUILD_BENCHMARKS=OFF -DROPEKIT_BUILD_EXAMPLES=OFF \
  -DROPEKIT_GTEST_SOURCE_DIR=/usr/src/googletest >/dev/null
# shellcheck disable=SC2086
cmake --build "$root/build/test-aarch64" -j "$jobs" --target $kernel_suites
run_tests aarch64 "" -R "$(echo $kernel_suites | tr ' ' '|')"
paths_line "aarch64 (qemu-user)"

echo "=== ropekit: all tests passed; kernel paths per build, as the test binaries reported them:"
echo "${report#?}"
