#!/usr/bin/env bash
# Builds the libFuzzer targets (Debian's clang 14, ASan + UBSan) and runs each
# for SECONDS seconds (default 60) from the committed corpus in tests/fuzz/corpus/.
# New inputs go to a scratch copy, never into the repository; a crash leaves its
# input in build-fuzz/ and fails the script.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (targets: idx npy model image onnx, and
# image_png image_jpeg image_bmp image_pnm image_tiff for one decoder each)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx npy model image onnx)
bash scripts/setup.sh clang-14 libclang-rt-14-dev
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]/#/fuzz_}"
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp tests/fuzz/corpus/"$t"/* "$work"/
  echo "fuzz: $t for ${seconds}s"
  # rss_limit: the readers may hold up to their declared-size caps while checking.
  status=0
  build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/crash-"$t"- "$work" >"$work.log" 2>&1 || status=$?
  grep -E "^#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb" "$work.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$work.log" >&2
    echo "fuzz: $t failed (exit $status); the input is in build-fuzz/" >&2
    exit 1
  fi
  rm -f "$work.log"
  rm -rf "$work"
  trap - EXIT
done
