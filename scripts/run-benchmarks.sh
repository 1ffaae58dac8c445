#!/usr/bin/env bash
# Sets up, builds strata_bench and runs it interleaved with the
# same network in PyTorch; arguments go to benchmarks/compare_pytorch.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/configure.sh
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target strata_bench
# OpenBLAS may not know this CPU and fall back to its AVX2 kernel; name the AVX-512 one.
grep -q avx512f /proc/cpuinfo && export OPENBLAS_CORETYPE=SkylakeX
exec /usr/bin/python3 benchmarks/compare_pytorch.py --bench build/benchmarks/strata_bench "$@"
