#!/usr/bin/env python3
"""Backend vs reference interpreter on every IR file of the lit suite.

Usage: compare_lit.py KILN LIT_DIR [--isa=portable|avx2|avx512]

Each tests/lit/**/*.mlir is a small graph written to exercise one rewrite (transposes
through elementwise ops, pads, concats, reductions, fake-quant chains, residual adds,
multi-use values, dispatch regions...), so together they cover many shapes of dispatch
the CPU backend must lower. For each file: `kiln run FILE --random-inputs 3 --interp`
(optimized graph on the interpreter) and `kiln run FILE --random-inputs 3` (compiled
backend; then again with --fuse-conv-chains --fuse-multi-use --target=npu-4x4x8-c4, so
multi-root regions, multi-result regions and padded shapes run too) must both succeed
or both fail, and agree: floats within relative L2 1e-5 and
max abs 1e-4 of the range (f32 epilogues vs the interpreter's double arithmetic rounded
per instruction), integers and booleans exactly.
"""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np


VARIANTS = [[], ["--fuse-conv-chains", "--fuse-multi-use", "--target=npu-4x4x8-c4"]]


def run(kiln, path, out, extra, env):
    cmd = [kiln, "run", path, "--random-inputs", "3", "--output-dir", out] + extra
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def compare(a, b):
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"shape/dtype {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
    if not np.issubdtype(a.dtype, np.floating):
        bad = np.count_nonzero(a != b)
        return f"{bad} integer elements differ" if bad else None
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if not np.array_equal(np.isnan(a64), np.isnan(b64)):
        return "NaN positions differ"
    a64, b64 = np.nan_to_num(a64), np.nan_to_num(b64)
    rng = float(b64.max() - b64.min()) if b64.size else 0.0
    err = float(np.abs(a64 - b64).max()) if a64.size else 0.0
    norm = float(np.linalg.norm(b64))
    rel = float(np.linalg.norm(a64 - b64)) / norm if norm else err
    if rel > 1e-5 or err > max(1e-4 * rng, 1e-6):
        return f"rel L2 {rel:.2e}, max abs {err:.2e} (range {rng:.3g})"
    return None


def main():
    kiln, lit_dir = sys.argv[1], sys.argv[2]
    env = dict(os.environ)
    for a in sys.argv[3:]:
        if a.startswith("--isa="):
            isa = a.split("=", 1)[1]
            version = subprocess.run([kiln, "--version"], capture_output=True, text=True).stdout
            if f" {isa}" not in version.split("usable isa:", 1)[-1] + " ":
                print(f"skip: this CPU cannot run {isa} microkernels ({version.strip()})")
                return 0
            env["KILN_ISA"] = isa
    files = sorted(f for f in glob.glob(os.path.join(lit_dir, "**", "*.mlir"), recursive=True)
                   if "/Output/" not in f)
    passed = failed = 0
    for f in files:
        name = os.path.relpath(f, lit_dir)
        with tempfile.TemporaryDirectory() as tmp:
            ref = run(kiln, f, os.path.join(tmp, "ref"), ["--interp"], env)
            problems = []
            for k, flags in enumerate(VARIANTS):
                got = run(kiln, f, os.path.join(tmp, f"got{k}"), flags, env)
                if ref.returncode != 0 or got.returncode != 0:
                    if (ref.returncode == 0) != (got.returncode == 0):
                        problems.append(f"{' '.join(flags) or 'default'}: interpreter rc "
                                        f"{ref.returncode}, backend rc {got.returncode}: "
                                        f"{(got.stderr or ref.stderr).strip()}")
                    continue
                for out in sorted(os.listdir(os.path.join(tmp, "ref"))):
                    msg = compare(np.load(os.path.join(tmp, f"got{k}", out)),
                                  np.load(os.path.join(tmp, "ref", out)))
                    if msg:
                        problems.append(f"{' '.join(flags) or 'default'}: {out}: {msg}")
            if problems:
                print(f"FAIL {name}: " + "; ".join(problems))
                failed += 1
            else:
                print(f"ok   {name}")
                passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
