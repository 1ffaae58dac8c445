#!/usr/bin/env bash
# Sets up, builds and runs the Fashion-MNIST example; arguments go to it
# (e.g. --epochs 5 --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/configure.sh
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target fashion_mnist
exec ./build/examples/fashion_mnist "$@"
