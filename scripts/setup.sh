#!/usr/bin/env bash
# Installs what strata's build, tests and examples need from Debian's packages
# (python3-torch is the reference the conformance tests compare against, and
# uses the OpenBLAS installed for the GEMM benchmark as its BLAS).
# Idempotent: does nothing when everything is already installed. Arguments
# name extra packages to install with the same care.
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  libxtensor-dev libxsimd-dev xtl-dev zlib1g-dev
  doctest-dev libbenchmark-dev libopenblas-dev
  dataset-fashion-mnist libstb-dev
  libcli11-dev nlohmann-json3-dev libprotozero-dev
  libspng-dev libturbojpeg0-dev libtiff-dev
  libopenmpi-dev openmpi-bin
  python3-torch python3-numpy python3-sklearn python3-imblearn python3-pil python3-keras-preprocessing
  python3-onnx python3-opencv
  chromium
)
packages+=("$@")  # extra packages a caller needs (CI: a second compiler)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
