#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The main job: builds the examples and runs the quickstart, which rotates a
# Llama-shaped Q/K with each scaling policy and prints what it did.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
sh "$root/cmake/install-deps.sh" cmake make g++ libeigen3-dev
build="$root/build/examples-release"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DROPEKIT_BUILD_TESTS=OFF -DROPEKIT_BUILD_BENCHMARKS=OFF -DROPEKIT_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
"$build/examples/quickstart"
