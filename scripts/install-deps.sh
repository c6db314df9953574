#!/usr/bin/env bash
# Install every Debian 12 package countersign needs to build, test and run.
# Idempotent: packages already present are left alone; safe to run repeatedly.
set -euo pipefail

packages=(
  cmake g++ make ninja-build ccache pkg-config
  libboost1.81-dev libboost-url1.81-dev
  libssl-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libcli11-dev libjemalloc-dev
  catch2 libbenchmark-dev
  openssl curl jose python3 python3-jwt python3-cryptography
  prometheus python3-yaml  # promtool for the /metrics test; YAML for the Docker guard
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
