#!/usr/bin/env python3
"""make_corpus.py OUT_DIR KILN [MODELS_DIR] — seed corpora for the fuzz targets (issue 7).

Generated, never committed:
  OUT_DIR/onnx, OUT_DIR/pipeline  small model.onnx files of the onnx package's backend node
                                  tests (a few hundred, spread over the op types), plus the
                                  small suite models of MODELS_DIR when under MAX_ONNX bytes
  OUT_DIR/mlir                    `kiln print` of those models (elided and with resources),
                                  the suite models, and the lit tests' .mlir inputs
  OUT_DIR/mlir_upstream           the upstream-MLIR lit tests (IREE's syntax) and, when the
                                  venv has iree-import-onnx, its torch.operator form of
                                  some of the onnx seeds
  OUT_DIR/npy                     .npy files of every dtype Kiln reads, ranks 0-8, and the
                                  variants it must refuse (Fortran order, big-endian, v2/v3)
  OUT_DIR/kiln                    compiled models (`kiln compile X -o X.kiln`) of the lit
                                  tests' .mlir inputs, the ONNX node-test seeds and
                                  the small suite models, when they compile and are under
                                  MAX_KILN bytes
Needs numpy and onnx (the test venv)."""
import glob
import io
import os
import subprocess
import sys

import numpy as np
import onnx

MAX_ONNX = 64 << 10   # the -max_len of the onnx/pipeline targets in bench/fuzz.sh
MAX_MLIR = 64 << 10
MAX_KILN = 256 << 10  # the -max_len of the kiln target
N_NODE_TESTS = 400


def node_test_models():
    root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")
    paths = sorted(glob.glob(os.path.join(root, "*", "model.onnx")))
    small = [p for p in paths if os.path.getsize(p) <= 16 << 10]
    step = max(1, len(small) // N_NODE_TESTS)
    return small[::step][:N_NODE_TESTS]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def onnx_seeds(out, models_dir):
    seeds = []
    for p in node_test_models():
        seeds.append((os.path.basename(os.path.dirname(p)), p))
    for p in sorted(glob.glob(os.path.join(models_dir or "", "*small*.onnx"))):
        if os.path.getsize(p) <= MAX_ONNX:
            seeds.append((os.path.basename(p)[:-5], p))
    for sub in ("onnx", "pipeline"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
        for name, p in seeds:
            with open(p, "rb") as f:
                write(os.path.join(out, sub, name + ".onnx"), f.read())
    return seeds


def mlir_seeds(out, kiln, seeds, models_dir):
    d = os.path.join(out, "mlir")
    os.makedirs(d, exist_ok=True)
    models = [p for _, p in seeds] + sorted(glob.glob(os.path.join(models_dir or "", "*small*.onnx")))
    n = 0
    for i, p in enumerate(models):
        flags = [[]] if i % 4 else [[], ["--elide-above", "4", "--emit-resources"]]
        for k, extra in enumerate(flags):
            r = subprocess.run([kiln, "print", p] + extra, capture_output=True, timeout=120)
            if r.returncode == 0 and 0 < len(r.stdout) <= MAX_MLIR:
                name = os.path.basename(os.path.dirname(p)) if p.endswith("model.onnx") else os.path.basename(p)
                write(os.path.join(d, "%s.%d.mlir" % (name, k)), r.stdout)
                n += 1
    for p in lit_inputs():
        with open(p, "rb") as f:
            write(os.path.join(d, "lit_" + os.path.basename(os.path.dirname(p)) + "_" + os.path.basename(p)), f.read())
        n += 1
    return n


def lit_inputs():
    lit = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lit")
    return sorted(glob.glob(os.path.join(lit, "**", "*.mlir"), recursive=True))


def kiln_seeds(out, kiln, seeds, models_dir):
    d = os.path.join(out, "kiln")
    os.makedirs(d, exist_ok=True)
    models = [("lit_%s_%s" % (os.path.basename(os.path.dirname(p)), os.path.basename(p)[:-5]), p)
              for p in lit_inputs()]
    models += [("node_" + name, p) for name, p in seeds if p.endswith("model.onnx")]
    models += [(os.path.basename(p)[:-5], p)  # a .kiln holds the weights: no smaller
               for p in sorted(glob.glob(os.path.join(models_dir or "", "*small*.onnx")))
               if os.path.getsize(p) <= MAX_KILN]
    n = 0
    for name, p in models:
        dst = os.path.join(d, name + ".kiln")
        try:
            r = subprocess.run([kiln, "compile", p, "-o", dst], capture_output=True, timeout=120)
        except subprocess.TimeoutExpired:
            continue
        if r.returncode == 0 and os.path.exists(dst) and os.path.getsize(dst) <= MAX_KILN:
            n += 1
        elif os.path.exists(dst):
            os.remove(dst)
    return n


def mlir_upstream_seeds(out, seeds):
    """Upstream MLIR: the lit tests in IREE's syntax, and iree-import-onnx (torch.operator
    form) of the small seed models when the venv has it."""
    d = os.path.join(out, "mlir_upstream")
    os.makedirs(d, exist_ok=True)
    n = 0
    lit = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lit", "upstream-mlir")
    for p in sorted(glob.glob(os.path.join(lit, "**", "*.mlir"), recursive=True)):
        with open(p, "rb") as f:
            data = f.read()
        if len(data) <= MAX_MLIR:
            write(os.path.join(d, "lit_" + os.path.basename(p)), data)
            n += 1
    tool = os.path.join(os.path.dirname(sys.executable), "iree-import-onnx")
    for i, (_, p) in enumerate(seeds):
        if not os.path.exists(tool) or i % 3:
            continue
        r = subprocess.run([tool, p, "-o", "-"], capture_output=True, timeout=120)
        if r.returncode == 0 and 0 < len(r.stdout) <= MAX_MLIR:
            write(os.path.join(d, "torch_%d.mlir" % i), r.stdout)
            n += 1
    return n


def npy_bytes(a, version=None):
    b = io.BytesIO()
    if version:
        np.lib.format.write_array(b, a, version=version)
    else:
        np.save(b, a)
    return b.getvalue()


def npy_seeds(out):
    d = os.path.join(out, "npy")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(0)
    dtypes = ["<f4", "<f2", "<u2", "|i1", "|u1", "<i4", "<i8", "|b1", "<f8", ">f4", "<c8"]
    n = 0
    for dt in dtypes:
        for rank in range(0, 9):
            shape = tuple(int(x) for x in rng.integers(1, 3, size=rank))
            a = (rng.standard_normal(shape) * 3).astype(dt)
            write(os.path.join(d, "%s_r%d.npy" % (dt.replace("<", "le").replace(">", "be").replace("|", ""), rank)), npy_bytes(a))
            n += 1
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    write(os.path.join(d, "fortran.npy"), npy_bytes(np.asfortranarray(a)))
    write(os.path.join(d, "v2.npy"), npy_bytes(a, (2, 0)))
    write(os.path.join(d, "v3.npy"), npy_bytes(a, (3, 0)))
    write(os.path.join(d, "empty.npy"), npy_bytes(np.zeros((0, 3), dtype="<f4")))
    return n + 4


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, kiln = sys.argv[1], sys.argv[2]
    models_dir = sys.argv[3] if len(sys.argv) > 3 else None
    seeds = onnx_seeds(out, models_dir)
    n_mlir = mlir_seeds(out, kiln, seeds, models_dir)
    n_up = mlir_upstream_seeds(out, seeds)
    n_npy = npy_seeds(out)
    n_kiln = kiln_seeds(out, kiln, seeds, models_dir)
    print("corpus: %d onnx/pipeline, %d mlir, %d mlir_upstream, %d npy, %d kiln seeds in %s"
          % (len(seeds), n_mlir, n_up, n_npy, n_kiln, out))


if __name__ == "__main__":
    main()
