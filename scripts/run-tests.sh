#!/usr/bin/env bash
# Sets up, builds everything and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/configure.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
