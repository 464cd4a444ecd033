#!/usr/bin/env bash
# Installs the build dependencies, builds ddax (release) and runs `ddax serve` with the given
# arguments (default: 127.0.0.1:8000, data in ./data).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh" build
cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build/release" -j"$(nproc)" --target ddax
exec "$root/build/release/ddax" serve "$@"
