#!/usr/bin/env bash
# Installs everything Kiln needs on a fresh Debian 12 machine: the C toolchain and
# libraries (Debian packages) and the Python venv used only by tests and benchmarks.
# Idempotent: re-running skips what is already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${KILN_VENV:-$root/.venv}

debs=(build-essential gcc clang cmake ninja-build pkg-config
      libprotobuf-c-dev protobuf-c-compiler libonnx-dev libpthreadpool-dev
      llvm-16-tools mlir-16-tools graphviz
      python3 python3-venv python3-numpy python3-torch python3-torchvision)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[install-deps] installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# lit is a Python module in llvm-16-tools; FileCheck lives in /usr/lib/llvm-16/bin.
if [ ! -x "$venv/bin/python" ]; then
  echo "[install-deps] creating venv $venv"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
if ! "$venv/bin/python" -c "import onnx, onnxruntime, lit" 2>/dev/null; then
  echo "[install-deps] installing PyPI packages into $venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$root/scripts/requirements.txt"
fi
echo "[install-deps] done"
