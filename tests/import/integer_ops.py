#!/usr/bin/env python3
"""ConvInteger and MatMulInteger (int32 results) against exact references.

Usage: integer_ops.py KILN

Kiln imports them as integer convs / matmuls of the zero-point-corrected 8-bit inputs
(onnx_qlinear.c), which the interpreter and the backend sum exactly, so every int32 value
must equal the reference, on the backend and on the interpreter (--interp). References:
ONNX Runtime where it implements the case (per-tensor zero points), else numpy in int64
(per output channel / per row / per column zero points, which ONNX allows and ORT's CPU
kernels reject). The ONNX node tests of these ops are opset 10, below Kiln's range. Also
checks that a zero point of the wrong shape and a float input give a clean error.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(7)


def model(node, inputs, inits):
    out = helper.make_tensor_value_info("y", TensorProto.INT32, None)
    g = helper.make_graph([node], "g", inputs, [out], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def vi(name, arr):
    t = TensorProto.UINT8 if arr.dtype == np.uint8 else TensorProto.INT8
    return helper.make_tensor_value_info(name, t, list(arr.shape))


def conv_ref(x, w, xz, wz, pads, strides, group, dil=(1, 1)):
    x = x.astype(np.int64) - np.int64(xz)
    w = w.astype(np.int64) - np.asarray(wz, np.int64).reshape(-1, 1, 1, 1)
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    _, _, h, wd = x.shape
    f, cg, kh, kw = w.shape
    ekh, ekw = (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1
    oh, ow = (h - ekh) // strides[0] + 1, (wd - ekw) // strides[1] + 1
    y = np.zeros((x.shape[0], f, oh, ow), np.int64)
    for n in range(x.shape[0]):
        for o in range(f):
            g = o // (f // group)
            for i in range(oh):
                for j in range(ow):
                    patch = x[n, g * cg:(g + 1) * cg,
                              i * strides[0]:i * strides[0] + ekh:dil[0],
                              j * strides[1]:j * strides[1] + ekw:dil[1]]
                    y[n, o, i, j] = (patch * w[o]).sum()
    return y.astype(np.int32)


def cases():
    x = RNG.integers(0, 256, (1, 4, 7, 7)).astype(np.uint8)
    xs = RNG.integers(-128, 128, (2, 3, 6, 5)).astype(np.int8)
    w = RNG.integers(0, 256, (6, 4, 3, 3)).astype(np.uint8)
    wz = RNG.integers(0, 256, 6).astype(np.uint8)
    node = helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], pads=[1, 1, 1, 1],
                            strides=[2, 1])
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array(17, np.uint8), "xz"),
             numpy_helper.from_array(wz, "wz")]
    yield ("conv per-channel w zp, stride 2x1", model(node, [vi("x", x)], inits), {"x": x},
           conv_ref(x, w, 17, wz, [1, 1, 1, 1], [2, 1], 1))
    w2 = RNG.integers(0, 256, (4, 1, 3, 3)).astype(np.uint8)
    node = helper.make_node("ConvInteger", ["x", "w", "xz"], ["y"], pads=[1, 1, 1, 1], group=4)
    inits = [numpy_helper.from_array(w2, "w"), numpy_helper.from_array(np.array(200, np.uint8), "xz")]
    yield ("conv depthwise (group 4), x zp only", model(node, [vi("x", x)], inits), {"x": x}, None)
    w3 = RNG.integers(-128, 128, (4, 3, 2, 2)).astype(np.int8)
    node = helper.make_node("ConvInteger", ["x", "w"], ["y"], dilations=[2, 1])
    yield ("conv s8 x s8, no zero points, dilation 2", model(node, [vi("x", xs)],
           [numpy_helper.from_array(w3, "w")]), {"x": xs},
           conv_ref(xs, w3, 0, 0, [0, 0, 0, 0], [1, 1], 1, (2, 1)))
    a = RNG.integers(0, 256, (5, 9)).astype(np.uint8)
    b = RNG.integers(-128, 128, (9, 3)).astype(np.int8)
    az = RNG.integers(0, 256, 5).astype(np.uint8)
    bz = RNG.integers(-128, 128, 3).astype(np.int8)
    node = helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])
    inits = [numpy_helper.from_array(az, "az"), numpy_helper.from_array(bz, "bz")]
    ref = ((a.astype(np.int64) - az.astype(np.int64)[:, None]) @
           (b.astype(np.int64) - bz.astype(np.int64)[None, :])).astype(np.int32)
    yield ("matmul per-row a zp, per-column b zp", model(node, [vi("a", a), vi("b", b)], inits),
           {"a": a, "b": b}, ref)
    a3 = RNG.integers(0, 256, (2, 4, 70)).astype(np.uint8)
    b3 = RNG.integers(0, 256, (70, 6)).astype(np.uint8)
    node = helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])
    inits = [numpy_helper.from_array(b3, "b"), numpy_helper.from_array(np.array(3, np.uint8), "az"),
             numpy_helper.from_array(np.array(250, np.uint8), "bz")]
    yield ("matmul batched, constant u8 weights", model(node, [vi("a", a3)], inits), {"a": a3}, None)


def run_kiln(kiln, m, feeds, extra, tmp):
    path = os.path.join(tmp, "m.onnx")
    onnx.save(m, path)
    args = [kiln, "run", path]
    for k, v in feeds.items():
        np.save(os.path.join(tmp, k + ".npy"), v)
        args += ["--input", os.path.join(tmp, k + ".npy")]
    out = os.path.join(tmp, "out" + "".join(extra))
    r = subprocess.run(args + ["--output-dir", out] + extra, capture_output=True, text=True)
    return r, (np.load(os.path.join(out, "y.npy")) if r.returncode == 0 else None)


def main():
    kiln = sys.argv[1]
    ok = True
    for label, m, feeds, ref in cases():
        with tempfile.TemporaryDirectory() as tmp:
            if ref is None:
                onnx.save(m, os.path.join(tmp, "ref.onnx"))
                sess = ort.InferenceSession(os.path.join(tmp, "ref.onnx"),
                                            providers=["CPUExecutionProvider"])
                ref = sess.run(None, feeds)[0]
            for extra in ([], ["--interp"]):
                r, got = run_kiln(kiln, m, feeds, extra, tmp)
                where = "interp" if extra else "backend"
                if r.returncode:
                    print(f"  {label} ({where}): kiln exited {r.returncode}: {r.stderr.strip()} FAIL")
                    ok = False
                    continue
                same = got.dtype == np.int32 and got.shape == ref.shape and np.array_equal(got, ref)
                print(f"  {label} ({where}): {'equal' if same else 'DIFFERENT'} {'ok' if same else 'FAIL'}")
                ok &= same
    # Clean errors: a per-tensor-only zero point given per channel; a float input.
    x = RNG.integers(0, 256, (1, 4, 5, 5)).astype(np.uint8)
    w = RNG.integers(0, 256, (2, 4, 3, 3)).astype(np.uint8)
    bad = [
        ("x zero point with 4 values", model(
            helper.make_node("ConvInteger", ["x", "w", "xz"], ["y"]), [vi("x", x)],
            [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.arange(4, dtype=np.uint8), "xz")]),
         {"x": x}),
        ("float input", model(
            helper.make_node("MatMulInteger", ["a", "b"], ["y"]),
            [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])],
            [numpy_helper.from_array(np.ones((3, 2), np.uint8), "b")]),
         {"a": np.ones((2, 3), np.float32)}),
    ]
    for label, m, feeds in bad:
        with tempfile.TemporaryDirectory() as tmp:
            r, _ = run_kiln(kiln, m, feeds, [], tmp)
            err = r.stderr.strip().splitlines()
            clean = r.returncode == 1 and len(err) == 1 and err[0].startswith("kiln: error:")
            print(f"  error case '{label}': rc {r.returncode}: {r.stderr.strip()} {'ok' if clean else 'FAIL'}")
            ok &= clean
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
