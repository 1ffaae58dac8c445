#!/usr/bin/env bash
# Sets up and runs the sanitizer stages CI adds to the test command: the
# tests (the examples, the whole-network PyTorch conformance suite and the
# compile-failure tests are left to the other stages) under AddressSanitizer
# + UBSan, the
# threading tests under ThreadSanitizer, then each libFuzzer target for
# STRATA_FUZZ_SECONDS seconds (default 10: a replay of the corpus and a short
# search; the long runs are recorded in the README). Any report fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
bash scripts/setup.sh clang-14 libclang-rt-14-dev
cmake --preset asan >/dev/null
cmake --build --preset asan -j"$jobs"
ctest --preset asan -j"$jobs"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j"$jobs"
ctest --preset tsan -j"$jobs"
bash scripts/fuzz.sh "${STRATA_FUZZ_SECONDS:-10}"
