#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds everything and runs every test. .ci/run calls exactly this script.
#   1. GCC, C++17, -Werror, runtime dispatch: all tests, then the unit suites
#      once per x86 kernel path (ROPEKIT_FORCE_ISA=scalar, avx2, avx512,
#      avx512_bf16; a path this CPU lacks is reported as skipped);
#   2. Clang, C++20, -Werror, -march=native (compile-time selection), under
#      AddressSanitizer + UndefinedBehaviorSanitizer, the tests and the C API
#      on the best path (the examples run in 1). The SIMD suites run every
#      path this CPU has, scalar included, inside each test; a second run
#      forced to scalar repeated that and took 74 s;
#   3. AArch64: cross-compiled with g++-aarch64-linux-gnu, the kernel suites
#      (SIMD against scalar, exact angles, properties, closed forms, bad
#      input, FP8 conversions, K-shift, re-table, packed positions,
#      rotate-into, the KV-cache append, the dynamic-NTK decode-step tables
#      and the kernel fuzzer's corpus) run on the NEON path under qemu-user. The
#      configuration and tooling suites have no architecture-specific code
#      and run in 1 and 2;
#   4. Fuzzing: Clang, libFuzzer under AddressSanitizer + UndefinedBehavior-
#      Sanitizer, only the fuzz targets; each fuzzes for $ROPEKIT_FUZZ_SECONDS
#      (default 60) from its committed corpus, both at once, and any finding
#      (crash, sanitizer report, leak, timeout, memory limit) fails the run;
#   5. ThreadSanitizer: Clang, only concurrency_test (one object shared by
#      eight threads, every policy) and the C API's c_api_concurrency_test.
# It ends with one line per build naming the kernel paths its suites ran on
# and those skipped for lack of hardware, as the test binaries reported them.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
sh "$root/cmake/install-deps.sh" cmake make g++ clang libclang-rt-14-dev libeigen3-dev \
  libgtest-dev googletest libbenchmark-dev nlohmann-json3-dev g++-aarch64-linux-gnu qemu-user \
  pkgconf ninja-build
jobs=$(nproc)
started=$(date +%s)

# Prints a stage's heading with the seconds since the script started.
stage() {
  echo "=== ropekit: [$(($(date +%s) - started)) s] $*"
}

# Configures build directory $1 (further arguments to cmake) with Ninja.
# Ninja schedules every target named on the command line at once; the
# Makefile generator builds named targets one after another
# (.NOTPARALLEL), which left the AArch64 stage (one unit per suite) on
# one core: 315 s -> 168 s. A directory made by another generator is
# started afresh.
configure() {
  dir=$1
  shift
  if [ -f "$dir/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
    rm -rf "$dir"
  fi
  cmake -G Ninja -S "$root" -B "$dir" -DROPEKIT_WERROR=ON "$@" >/dev/null
}

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
  stage "build $name"
  configure "$root/build/test-$name" "$@"
  cmake --build "$root/build/test-$name" -j "$jobs"
}

run_tests() {
  name=$1
  isa=$2
  shift 2
  stage "test $name (kernel path: ${isa:-best available})"
  log="$root/build/test-$name/ctest-${isa:-best}.xml"
  rm -f "$log"
  ROPEKIT_FORCE_ISA=$isa ctest --test-dir "$root/build/test-$name" --output-on-failure -j "$jobs" \
    --output-junit "$log" "$@"
  ran=$(grep -o 'ropekit: kernel path [a-z0-9_]*' "$log" | sed 's/.* //' | sort -u | tr '\n' ' ')
  skipped=$(grep -o 'ROPEKIT_FORCE_ISA=[a-z0-9_]* cannot run' "$log" | sed 's/.*=//; s/ .*//' |
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
  reports=$(grep -c -e 'ropekit: kernel path ' -e 'ROPEKIT_FORCE_ISA=[a-z0-9_]* cannot run' "$log")
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
    for p in scalar neon avx2 avx512 avx512_bf16; do
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

# The fuzz targets' corpus replays are left to the fuzz stage (every committed
# input runs under the sanitizers before it fuzzes) and, for the kernel
# fuzzer on NEON, to the AArch64 stage: 70 s of GCC compile time saved here.
configure_and_build gcc-cxx17 -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_STANDARD=17 \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DROPEKIT_FUZZ_REPLAY=OFF
run_tests gcc-cxx17 ""
for isa in scalar avx2 avx512 avx512_bf16; do
  run_tests gcc-cxx17 "$isa" -L unit
done
paths_line "gcc-cxx17"

# The corpus replays are left to the fuzz stage, which runs every committed
# input under the same sanitizers before it fuzzes; the examples (the engine,
# the tools) run in stage 1 and are not built here. -O0: optimised code is
# tested in stage 1, and Clang compiles these units about 4x faster so
# (kv_cache_test.cpp under ASan+UBSan: 147 s at -O1, 32 s at -O0); the
# AArch64 stage builds at -O1 for the same reason (74 s at -O2, 42 s).
# The C API's tests (C11) build with clang too: one sanitizer runtime.
# Here and in the AArch64 stage calls over 256 KiB instead of 4 MiB stream
# from memory ($small_streaming), and the suites size their streaming cases
# from it (at -O0 under the sanitizers shift_simd_test 44.5 s -> 16.6 s,
# qk_norm_simd_test 35.1 s -> 10.4 s). Stage 1 keeps the default.
small_streaming="-DROPEKIT_CACHE_RESIDENT_BYTES=262144"
configure_and_build clang-cxx20-sanitizers -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_STANDARD=20 -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O0 -DNDEBUG $small_streaming" \
  -DROPEKIT_NATIVE=ON -DROPEKIT_DYNAMIC_DISPATCH=OFF -DROPEKIT_SANITIZE=address,undefined \
  -DROPEKIT_BUILD_BENCHMARKS=OFF -DROPEKIT_BUILD_EXAMPLES=OFF -DROPEKIT_FUZZ_REPLAY=OFF
run_tests clang-cxx20-sanitizers ""
paths_line "clang-cxx20-sanitizers"

kernel_suites="simd_test exact_angle_test property_test closed_form_test validation_test bad_input_test"
kernel_suites="$kernel_suites fp8_test kernel_fuzzer rotated_slice_test proportional_test vision_2d_test"
kernel_suites="$kernel_suites shift_test shift_simd_test retable_test packed_positions_test"
kernel_suites="$kernel_suites rotate_into_test kv_cache_test kv_cache_bad_input_test qk_norm_simd_test"
kernel_suites="$kernel_suites dynamic_ntk_test"
stage "build aarch64 (kernel suites)"
paths_run=""
paths_skipped=""
paths_default=""
configure "$root/build/test-aarch64" \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG $small_streaming" \
  -DROPEKIT_BUILD_BENCHMARKS=OFF -DROPEKIT_BUILD_EXAMPLES=OFF \
  -DROPEKIT_GTEST_SOURCE_DIR=/usr/src/googletest
# shellcheck disable=SC2086
cmake --build "$root/build/test-aarch64" -j "$jobs" --target $kernel_suites
run_tests aarch64 "" -R "$(echo $kernel_suites | tr ' ' '|')" -E "^c_api_"  # c_api_bad_input_test is not a kernel suite
paths_line "aarch64 (qemu-user)"

# start_fuzzer TARGET [ARG...]: runs one libFuzzer target in the background.
# libFuzzer writes new inputs to the first corpus directory it is given, a
# scratch one here; the committed corpus and any further seed directories
# among ARGs (flags may come in any order) are only read.
start_fuzzer() {
  target=$1
  shift
  work="$root/build/test-fuzz/work/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus"
  "$root/build/test-fuzz/tests/fuzz/$target" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" \
    "$root/tests/fuzz/corpus/$target" "$@" >"$work/fuzz.log" 2>&1 &
  echo $! >"$work/pid"
}

# Waits for a target started by start_fuzzer; prints its statistics, or the
# finding and where the reproducer was written.
finish_fuzzer() {
  target=$1
  work="$root/build/test-fuzz/work/$target"
  if wait "$(cat "$work/pid")"; then
    echo "=== ropekit: fuzz $target: no finding in ${fuzz_seconds}s"
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$work/fuzz.log"
    return 0
  fi
  echo "=== ropekit: fuzz $target: FINDING (last lines of $work/fuzz.log below)"
  grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)|^\s+NEW_FUNC' "$work/fuzz.log" | tail -n 60
  reproducer=$(find "$work" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'leak-*' \
    -o -maxdepth 1 -name 'timeout-*' -o -maxdepth 1 -name 'oom-*' | head -n 1)
  echo "=== ropekit: reproduce with: $root/build/test-fuzz/tests/fuzz/$target $reproducer"
  return 1
}

fuzz_stage() {
  fuzz_seconds=${ROPEKIT_FUZZ_SECONDS:-60}
  stage "build fuzz (clang, libFuzzer, AddressSanitizer + UndefinedBehaviorSanitizer)"
  configure "$root/build/test-fuzz" -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
    -DROPEKIT_BUILD_FUZZERS=ON
  cmake --build "$root/build/test-fuzz" -j "$jobs"
  stage "fuzz kernel_fuzzer and config_fuzzer, ${fuzz_seconds}s each, at once"
  start_fuzzer kernel_fuzzer
  start_fuzzer config_fuzzer "$root/tests/data" -dict="$root/tests/fuzz/config_fuzzer.dict" -max_len=8192
  status=0
  finish_fuzzer kernel_fuzzer || status=1
  finish_fuzzer config_fuzzer || status=1
  return $status
}

tsan_stage() {
  stage "build tsan (clang, ThreadSanitizer, the concurrency tests only)"
  # -O0: every access is instrumented as at -O1; the build takes half the
  # time (about 100 s -> 50 s here) and the two tests ~5 s instead of ~2.
  configure "$root/build/test-tsan" -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_CXX_STANDARD=17 -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O0 -g -DNDEBUG" \
    -DROPEKIT_SANITIZE=thread -DROPEKIT_BUILD_EXAMPLES=OFF -DROPEKIT_BUILD_BENCHMARKS=OFF
  cmake --build "$root/build/test-tsan" -j "$jobs" --target concurrency_test c_api_concurrency_test
  stage "test tsan (concurrency_test, c_api_concurrency_test under ThreadSanitizer)"
  test_binary="$root/build/test-tsan/tests/concurrency_test"
  # ThreadSanitizer's fixed memory layout does not fit every randomised
  # address space (e.g. vm.mmap_rnd_bits above 28): then run without ASLR.
  launcher=""
  if ! "$test_binary" --gtest_list_tests >"$root/build/test-tsan/probe.log" 2>&1 &&
    grep -q "unexpected memory mapping" "$root/build/test-tsan/probe.log"; then
    echo "ThreadSanitizer cannot map its memory with ASLR on here: running under setarch -R"
    launcher="setarch $(uname -m) -R"
  fi
  # shellcheck disable=SC2086
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" $launcher "$test_binary"
  # shellcheck disable=SC2086
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" $launcher \
    "$root/build/test-tsan/tests/c_api_concurrency_test"
}

fuzz_stage
tsan_stage

stage "all tests passed; kernel paths per build, as the test binaries reported them:"
echo "${report#?}"
