#!/usr/bin/env python3
"""QLinearConv / QLinearMatMul import against ONNX Runtime.

Usage: qlinear.py KILN

Builds small random models (u8 and i8 activations, per-tensor and per-channel weight
scales, with and without bias, padding and stride) with the onnx helper, runs them with
`kiln run` and ONNX Runtime on the same inputs and compares the quantized outputs. Kiln
imports the ops as DQ -> float conv/matmul -> Q (onnx_qlinear.c), ORT accumulates in int32,
so a value within float rounding of a half step may differ by one quantization step:
the test allows at most one step anywhere and at most 1% of values off by one, and prints
the measured figures.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

NP2ONNX = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}


def conv_model(rng, act, per_channel, bias, stride):
    lo, hi = (0, 256) if act == np.uint8 else (-128, 128)
    x = rng.integers(lo, hi, (1, 8, 12, 12)).astype(act)
    w = rng.integers(-127, 128, (16, 8, 3, 3)).astype(np.int8)
    ws = (rng.uniform(0.002, 0.02, 16) if per_channel else np.array(0.01)).astype(np.float32)
    inits = [numpy_helper.from_array(np.array(0.02, np.float32), "xs"),
             numpy_helper.from_array(np.array(lo + 128 if act == np.uint8 else 3, act), "xzp"),
             numpy_helper.from_array(w, "w"), numpy_helper.from_array(ws, "ws"),
             numpy_helper.from_array(np.zeros(ws.shape, np.int8), "wzp"),
             numpy_helper.from_array(np.array(0.4, np.float32), "ys"),
             numpy_helper.from_array(np.array(120 if act == np.uint8 else -5, act), "yzp")]
    names = ["x", "xs", "xzp", "w", "ws", "wzp", "ys", "yzp"]
    if bias:
        inits.append(numpy_helper.from_array(rng.integers(-3000, 3000, 16).astype(np.int32), "B"))
        names.append("B")
    node = helper.make_node("QLinearConv", names, ["y"], pads=[1, 1, 1, 1], strides=[stride, stride])
    out = 12 // stride
    g = helper.make_graph([node], "qconv", [helper.make_tensor_value_info("x", NP2ONNX[act], x.shape)],
                          [helper.make_tensor_value_info("y", NP2ONNX[act], [1, 16, out, out])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), x


def matmul_model(rng, act):
    lo, hi = (0, 256) if act == np.uint8 else (-128, 128)
    a = rng.integers(lo, hi, (2, 5, 32)).astype(act)
    b = rng.integers(lo, hi, (32, 24)).astype(act)
    inits = [numpy_helper.from_array(np.array(0.03, np.float32), "as"),
             numpy_helper.from_array(np.array(lo + 100 if act == np.uint8 else 2, act), "azp"),
             numpy_helper.from_array(b, "b"),
             numpy_helper.from_array(rng.uniform(0.01, 0.03, 24).astype(np.float32), "bs"),
             numpy_helper.from_array(np.array(lo + 120 if act == np.uint8 else -1, act), "bzp"),
             numpy_helper.from_array(np.array(8.0, np.float32), "ys"),
             numpy_helper.from_array(np.array(lo + 128 if act == np.uint8 else 0, act), "yzp")]
    node = helper.make_node("QLinearMatMul", ["a", "as", "azp", "b", "bs", "bzp", "ys", "yzp"], ["y"])
    g = helper.make_graph([node], "qmatmul", [helper.make_tensor_value_info("a", NP2ONNX[act], a.shape)],
                          [helper.make_tensor_value_info("y", NP2ONNX[act], [2, 5, 24])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), a


def check(kiln, name, model, x, tmp):
    path = os.path.join(tmp, name + ".onnx")
    onnx.save(model, path)
    want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {model.graph.input[0].name: x})[0]
    np.save(os.path.join(tmp, "x.npy"), x)
    out = os.path.join(tmp, name)
    r = subprocess.run([kiln, "run", path, "--input", os.path.join(tmp, "x.npy"), "--output-dir", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL {name}: kiln exited {r.returncode}: {r.stderr.strip()}")
        return False
    got = np.load(os.path.join(out, "y.npy"))
    steps = np.abs(got.astype(np.int64) - want.astype(np.int64))
    frac = float((steps > 0).mean())
    ok = got.dtype == want.dtype and steps.max() <= 1 and frac <= 0.01
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {100 * (1 - frac):.2f}% equal, max {steps.max()} step(s)")
    return ok


def main():
    kiln = sys.argv[1]
    rng = np.random.default_rng(3)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for act in (np.uint8, np.int8):
            for per_channel in (False, True):
                for bias in (False, True):
                    for stride in (1, 2):
                        name = f"qlinearconv_{act.__name__}_{'pc' if per_channel else 'pt'}_" \
                               f"{'bias' if bias else 'nobias'}_s{stride}"
                        ok &= check(kiln, name, *conv_model(rng, act, per_channel, bias, stride), tmp)
            ok &= check(kiln, f"qlinearmatmul_{act.__name__}", *matmul_model(rng, act), tmp)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
