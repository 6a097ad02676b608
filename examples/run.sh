#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The main job: builds the examples, runs the quickstart (a Llama-shaped Q/K
# rotated with each scaling policy), inspects two real model configs and runs
# the example engine briefly (prefill, decode, two context shifts, checked).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
sh "$root/cmake/install-deps.sh" cmake make g++ libeigen3-dev nlohmann-json3-dev
build="$root/build/examples-release"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DROPEKIT_BUILD_TESTS=OFF -DROPEKIT_BUILD_BENCHMARKS=OFF -DROPEKIT_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
"$build/examples/quickstart"
if [ -x "$build/examples/c_quickstart" ]; then
  echo
  echo "--- c_quickstart (the C API)"
  "$build/examples/c_quickstart"
fi
echo
echo "--- ropekit-inspect tests/data/llama-3.1-8b.json --target-len 131072"
"$build/examples/ropekit-inspect" "$root/tests/data/llama-3.1-8b.json" --target-len 131072
echo
echo "--- ropekit-inspect tests/data/phi-3-mini-128k-instruct.json --seq-len 8192"
"$build/examples/ropekit-inspect" "$root/tests/data/phi-3-mini-128k-instruct.json" --seq-len 8192
echo
echo "--- ropekit-engine (an attention stack on a paged bf16 KV cache, checked at every step)"
"$build/examples/ropekit-engine" --prompt 60 --steps 120 --cache-tokens 96
