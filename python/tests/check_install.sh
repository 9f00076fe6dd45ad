#!/usr/bin/env bash
# `pip install ./python` in a fresh venv (system site packages for numpy, as the README
# says), then a smoke test of the installed package outside the source tree: the library
# loads, errors carry the library's message, and a suite model compiles and runs when
# KILN_MODEL_DIR has it. Usage: check_install.sh REPO_ROOT WORK_DIR   (ctest python.install)
set -euo pipefail
root=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} "$work/venv/bin/pip" install -q "$root/python"
cd "$work"
env -u KILN_LIBRARY "$work/venv/bin/python" - <<'PY'
import os, pathlib
import numpy as np
import kiln
lib = kiln.library_path()
assert lib.parent == pathlib.Path(kiln.__file__).parent, lib
print("kiln", kiln.__version__, "library", kiln.library_version(), lib)
try:
    kiln.compile(b"not an onnx model")
    raise SystemExit("FAIL: garbage bytes compiled")
except kiln.KilnError as e:
    print("KilnError:", e.message)
    assert e.message
model = pathlib.Path(os.environ.get("KILN_MODEL_DIR", "")) / "mobilenet_v2.onnx"
if model.is_file():
    with kiln.compile(model) as m:
        (y,) = m(np.zeros(m.inputs[0].shape, m.inputs[0].dtype))
        print(m, "->", y.shape, y.dtype)
        assert y.shape == m.outputs[0].shape and np.isfinite(y).all()
else:
    print("no", model, "- skipped the run")
print("PASS")
PY
