#!/usr/bin/env python3
"""Oracle test: runs one suite model with `kiln run` and with ONNX Runtime on the same
fixed random inputs and compares every output.

Usage: oracle.py KILN MODEL.onnx

Tolerances (the one place they are stated):
  fp32: relative L2 error ||k - o|| / ||o|| <= 1e-5, and max |k - o| <= 1e-3 * range(o).
        Kiln and ONNX Runtime both compute in fp32 but sum in different orders (and ORT
        uses FMA and Winograd-like conv algorithms), so results differ by rounding: about
        sqrt(K) * 2^-24 relative per dot product of length K, i.e. ~1e-6 for the K ~ 1e3
        reductions of these models; 1e-5 leaves room for error growth over ~60 layers.
The measured errors are printed whether or not the test passes.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

REL_L2_F32 = 1e-5
MAX_ABS_OF_RANGE_F32 = 1e-3

NP_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_,
             10: np.float16}


def make_inputs(model, seed=7):
    rng = np.random.default_rng(seed)
    inits = {i.name for i in model.graph.initializer}
    feeds = {}
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        tt = inp.type.tensor_type
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in tt.shape.dim]
        dt = NP_DTYPES[tt.elem_type]
        if np.issubdtype(dt, np.floating):
            feeds[inp.name] = rng.uniform(-1, 1, shape).astype(dt)
        else:
            feeds[inp.name] = rng.integers(0, 4, shape).astype(dt)
    return feeds


def compare(name, got, want):
    if got.shape != want.shape or got.dtype != want.dtype:
        print(f"FAIL {name}: kiln gave {got.dtype}{list(got.shape)}, "
              f"ORT {want.dtype}{list(want.shape)}")
        return False
    if not np.issubdtype(want.dtype, np.floating):
        bad = int(np.count_nonzero(got != want))
        print(f"  {name}: {bad} of {want.size} integer values differ")
        return bad == 0
    g, w = got.astype(np.float64), want.astype(np.float64)
    rel = np.linalg.norm(g - w) / max(np.linalg.norm(w), 1e-30)
    rng = float(w.max() - w.min()) or 1.0
    mx = float(np.abs(g - w).max()) if w.size else 0.0
    ok = rel <= REL_L2_F32 and mx <= MAX_ABS_OF_RANGE_F32 * rng
    print(f"  {name}: rel L2 {rel:.3e} (limit {REL_L2_F32:g}), max abs {mx:.3e} "
          f"(limit {MAX_ABS_OF_RANGE_F32 * rng:.3e} = 1e-3 of range {rng:.4g}) "
          f"{'ok' if ok else 'FAIL'}")
    return ok


def main():
    kiln, path = sys.argv[1], sys.argv[2]
    model = onnx.load(path, load_external_data=False)
    feeds = make_inputs(model)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    want = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [kiln, "run", path, "--output-dir", os.path.join(tmp, "out")]
        for i, (name, arr) in enumerate(feeds.items()):
            f = os.path.join(tmp, f"in{i}.npy")
            np.save(f, arr)
            cmd += ["--input", f]
        print("$", " ".join(cmd), flush=True)
        r = subprocess.run(cmd)
        if r.returncode != 0:
            print(f"FAIL: kiln exited with {r.returncode}")
            return 1
        ok = True
        for name, w in want.items():
            safe = name.replace("/", "_").replace("\\", "_").replace(":", "_")
            ok &= compare(name, np.load(os.path.join(tmp, "out", safe + ".npy")), w)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
