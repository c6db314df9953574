#!/usr/bin/env bash
# Install, build and run the gateway on the shipped quickstart config.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh --target countersign
exec ./"${BUILD_DIR:-build}"/countersign --config config/quickstart.yaml
