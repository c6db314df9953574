#!/usr/bin/env bash
# Install everything, build, and run every test suite. This is the README's
# test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 -j"${TEST_JOBS:-2}"
