#!/usr/bin/env python3
"""Upstream MLIR input against the ONNX import of the same model.

Usage: upstream_mlir.py KILN MODEL.onnx [--linalg | --global-opt]
       upstream_mlir.py KILN --iree FILE.mlir

MODEL mode: iree-import-onnx (the iree-base-compiler package, next to this Python or on
PATH) writes the model in torch-mlir's `torch.operator "onnx.X"` form; with --linalg,
iree-compile --compile-to=input then lowers that to linalg on tensors (IREE's input
dump, with its hal ABI wrapper); with --global-opt, --compile-to=global-optimization
(convs and matmuls as generic contractions, which the importer raises to named ops). `kiln run X.mlir --random-inputs 1` must match
`kiln run MODEL.onnx --random-inputs 1` output by output within the fp32 tolerances of
oracle.py (same inputs: the seed fills the arguments in order).

--iree mode: FILE.mlir (linalg on tensors, f32 / f16 arguments) is compiled and run by IREE
(iree-compile for llvm-cpu, iree-run-module) and by Kiln on the same random inputs; the
outputs must match within the same tolerances: IREE is the oracle for the importer's
mapping of each op.

Exits 77 (skipped) when the IREE tools are not installed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle import compare  # noqa: E402  (the fp32 tolerances live there)


def tool(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd[:4])} ...: exit {r.returncode}\n{r.stderr[-2000:]}")
    return r.stdout


def kiln_outputs(kiln, model, out_dir, extra=()):
    """Runs the model; returns its outputs in result order (the 'wrote' lines)."""
    stdout = run([kiln, "run", model, "--random-inputs", "1", "--output-dir", out_dir, *extra])
    return [np.load(p) for p in re.findall(r"wrote (\S+\.npy)", stdout)]


def check(kiln, mlir, onnx_model, tmp):
    got = kiln_outputs(kiln, mlir, os.path.join(tmp, "mlir"))
    want = kiln_outputs(kiln, onnx_model, os.path.join(tmp, "onnx"))
    if len(got) != len(want):
        print(f"FAIL: {len(got)} outputs from the MLIR, {len(want)} from the ONNX model")
        return False
    ok = True
    for k, (g, w) in enumerate(zip(got, want)):
        ok &= compare(f"output {k}", g, w)
    return ok


def model_mode(kiln, onnx_model, phase):
    importer = tool("iree-import-onnx")
    compiler = tool("iree-compile")
    if not importer or (phase and not compiler):
        print("iree-import-onnx / iree-compile not found: skipped")
        return 77
    with tempfile.TemporaryDirectory(prefix="kiln_upstream_") as tmp:
        torch_mlir = os.path.join(tmp, "torch.mlir")
        run([importer, onnx_model, "-o", torch_mlir])
        mlir = torch_mlir
        if phase:
            mlir = os.path.join(tmp, phase + ".mlir")
            run([compiler, torch_mlir, "--compile-to=" + phase, "-o", mlir])
        form = f"linalg (iree-compile --compile-to={phase})" if phase else "torch.operator (iree-import-onnx)"
        print(f"{os.path.basename(onnx_model)}: {form}, {os.path.getsize(mlir) >> 20} MiB of text")
        ok = check(kiln, mlir, onnx_model, tmp)
    print("ok" if ok else "FAIL")
    return 0 if ok else 1


def iree_mode(kiln, mlir):
    compiler, runner = tool("iree-compile"), tool("iree-run-module")
    if not compiler or not runner:
        print("iree-compile / iree-run-module not found: skipped")
        return 77
    text = open(mlir).read()
    sig = re.search(r"func (?:public )?@main\(([^)]*)\)", text).group(1)
    args = [(tuple(int(d) for d in m.group(1).split("x") if d), m.group(2))
            for m in re.finditer(r"tensor<([0-9x]*?)x?(f32|f16)>", sig)]
    with tempfile.TemporaryDirectory(prefix="kiln_iree_") as tmp:
        vmfb = os.path.join(tmp, "m.vmfb")
        run([compiler, mlir, "--iree-hal-target-backends=llvm-cpu", "--iree-llvmcpu-target-cpu=host", "-o", vmfb])
        rng = np.random.default_rng(0)
        ins = []
        for i, (shape, dt) in enumerate(args):
            p = os.path.join(tmp, f"in{i}.npy")
            np.save(p, rng.uniform(-1, 1, shape).astype(np.float16 if dt == "f16" else np.float32))
            ins.append(p)
        args = sum([["--input", p] for p in ins], [])
        stdout = run([kiln, "run", mlir, *args, "--output-dir", os.path.join(tmp, "kiln")])
        got = [np.load(p) for p in re.findall(r"wrote (\S+\.npy)", stdout)]
        outs = [os.path.join(tmp, f"iree{k}.npy") for k in range(len(got))]
        run([runner, f"--module={vmfb}", "--function=main", *[f"--input=@{p}" for p in ins],
             *[f"--output=@{p}" for p in outs]])
        ok = True
        for k, (g, p) in enumerate(zip(got, outs)):
            ok &= compare(f"output {k}", g, np.load(p))
    print("ok" if ok else "FAIL")
    return 0 if ok else 1


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    kiln = sys.argv[1]
    if sys.argv[2] == "--iree":
        return iree_mode(kiln, sys.argv[3])
    flags = sys.argv[3:]
    phase = "input" if "--linalg" in flags else "global-optimization" if "--global-opt" in flags else None
    return model_mode(kiln, sys.argv[2], phase)


if __name__ == "__main__":
    sys.exit(main())
