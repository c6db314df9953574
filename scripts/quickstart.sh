#!/usr/bin/env bash
# Install, build and run the quickstart: the demo identity provider
# (`countersign demo-idp`, http://127.0.0.1:9000) in the background, and the
# gateway in the foreground on config/quickstart.yaml (proxy 127.0.0.1:8000,
# admin 127.0.0.1:8001). Ctrl-C stops both. See README.md for what to try.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh --target countersign
bin=./"${BUILD_DIR:-build}"/countersign

"$bin" demo-idp &
idp_pid=$!
trap 'kill "$idp_pid" 2>/dev/null || true; wait "$idp_pid" 2>/dev/null || true' EXIT

# Wait until the demo IdP accepts connections (or stop if it could not start,
# e.g. because port 9000 is taken).
for _ in $(seq 100); do
  if (exec 3<>/dev/tcp/127.0.0.1/9000) 2>/dev/null; then break; fi
  if ! kill -0 "$idp_pid" 2>/dev/null; then
    echo "quickstart: countersign demo-idp did not start (is port 9000 in use?)" >&2
    exit 1
  fi
  sleep 0.1
done

"$bin" --config config/quickstart.yaml
