#!/usr/bin/env bash
# Sets up, builds everything and runs the whole test suite.
# STRATA_FAIL_ON_WARNINGS=1 (CI) fails the build on any compiler warning.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/configure.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build build -j"$jobs" 2>&1 | tee build/build.log
# The log, not -Werror: CMake's own feature checks must not fail on a warning.
if [ "${STRATA_FAIL_ON_WARNINGS:-0}" = 1 ] && grep -q "warning:" build/build.log; then
  grep -B2 -A6 "warning:" build/build.log | head -n 80 >&2
  echo "run-tests: the build printed warnings (above); CI treats them as errors" >&2
  exit 1
fi
ctest --test-dir build --output-on-failure -j"$jobs"
