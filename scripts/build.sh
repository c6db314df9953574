#!/usr/bin/env bash
# Configure and build countersign (binary, tests, benchmarks) into ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release}
fi
cmake --build "$build_dir" -j"${JOBS:-$(nproc)}" "$@"
