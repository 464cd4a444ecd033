#!/usr/bin/env bash
# Installs what ddax needs from Debian's packages: to build (first argument "build"), or to
# build and run every test ("test", the default). Safe to run again; skips apt when all is there.
set -euo pipefail
build_pkgs=(build-essential cmake pkg-config libevent-dev libcjson-dev liblmdb-dev lmdb-utils
            libjemalloc-dev libhiredis-dev libssl-dev zlib1g-dev)
test_pkgs=(libcmocka-dev python3-boto3 python3-pytest awscli)
pkgs=("${build_pkgs[@]}")
[ "${1:-test}" = test ] && pkgs+=("${test_pkgs[@]}")
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
