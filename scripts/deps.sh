#!/usr/bin/env bash
# Installs what ddax needs from Debian's packages: to build (first argument "build"), or to
# build and run every test ("test", the default). Safe to run again; skips apt when all is there.
set -euo pipefail
build_pkgs=(build-essential cmake pkg-config libevent-dev libcjson-dev liblmdb-dev lmdb-utils
            libjemalloc-dev libhiredis-dev libssl-dev zlib1g-dev)
test_pkgs=(libcmocka-dev python3-boto3 python3-pytest awscli openssl)
pkgs=("${build_pkgs[@]}")
if [ "${1:-test}" = test ]; then
  pkgs+=("${test_pkgs[@]}")
  command -v npm >/dev/null || pkgs+=(nodejs npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The JS SDK v3 for the integration tests, from the npm registry.
if [ "${1:-test}" = test ]; then
  js="$(cd "$(dirname "$0")/.." && pwd)/tests/integration/js"
  [ -d "$js/node_modules/@aws-sdk/client-dynamodb" ] ||
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error)
fi
