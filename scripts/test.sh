#!/usr/bin/env bash
# Builds ddax twice (release, and AddressSanitizer + UndefinedBehaviorSanitizer) and runs every
# test in both: the C unit tests and the integration tests (real server, boto3, AWS CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)
status=0
for variant in release asan; do
  dir=build/$variant
  flags=(-DCMAKE_BUILD_TYPE=Release)
  [ $variant = asan ] && flags=(-DCMAKE_BUILD_TYPE=Debug -DDDAX_SANITIZE=ON)
  echo "=== $variant build"
  cmake -S . -B "$dir" "${flags[@]}" -DDDAX_WERROR=ON >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "=== $variant tests"
  # detect_leaks: every allocation must be released at exit too.
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
       ctest --test-dir "$dir" --output-on-failure -j"$jobs"; then
    status=1
  fi
done
exit $status
