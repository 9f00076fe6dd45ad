#!/usr/bin/env python3
"""DQ -> Resize -> Q (one set of quantization parameters) against ONNX Runtime.

Usage: qdq_resize.py KILN

ONNX Runtime runs such a uint8 unit as a Resize on the 8-bit tensor itself (its QDQ
transformer drops the DQ/Q pair), a linear resize in 10-bit fixed point with truncation;
an int8 unit it keeps in float (DQ, float resize, Q). Kiln's quantize-convs pass does the
same (interp_resize.c, the backend's resize8 kernel), so the outputs must be equal, value
for value. Small random models: u8
and i8, up- and downsampling, integral and fractional scales, the coordinate modes QDQ
exports use, sizes or scales given. Prints the number of differing values per case.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

CASES = [  # (dtype, in HxW, out HxW, coordinate mode, by sizes)
    (np.uint8, (9, 9), (129, 129), "half_pixel", True),
    (np.uint8, (6, 7), (12, 14), "half_pixel", False),
    (np.uint8, (16, 16), (8, 8), "half_pixel", True),
    (np.uint8, (5, 9), (17, 33), "align_corners", True),
    (np.uint8, (8, 8), (20, 20), "asymmetric", True),
    (np.uint8, (8, 8), (20, 20), "pytorch_half_pixel", True),
    (np.int8, (9, 9), (33, 33), "half_pixel", True),
]


def model(dt, hw_in, hw_out, mode, by_sizes, channels=21):
    zp = np.array(117 if dt == np.uint8 else -9, dt)
    qt = TensorProto.UINT8 if dt == np.uint8 else TensorProto.INT8
    inits = [numpy_helper.from_array(np.array(0.0125, np.float32), "s"),
             numpy_helper.from_array(zp, "zp"),
             numpy_helper.from_array(np.zeros(0, np.float32), "roi")]
    if by_sizes:
        inits.append(numpy_helper.from_array(np.array([1, channels, *hw_out], np.int64), "sizes"))
        rs_in = ["xf", "roi", "", "sizes"]
    else:
        sc = [1.0, 1.0, hw_out[0] / hw_in[0], hw_out[1] / hw_in[1]]
        inits.append(numpy_helper.from_array(np.array(sc, np.float32), "scales"))
        rs_in = ["xf", "roi", "scales"]
    # A QDQ 1x1 conv first: ONNX Runtime then runs the unit in NHWC (its layout transformer
    # moves QLinearConv and the uint8 Resize after it), where its resize is fixed point.
    # A Resize on its own runs NCHW with float weights and truncation instead (one step
    # off on a few % of values): ORT's result depends on the context, Kiln's does not.
    w = np.eye(channels, dtype=np.int8).reshape(channels, channels, 1, 1) * 64
    inits += [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array(1 / 64, np.float32), "ws"),
              numpy_helper.from_array(np.zeros((), np.int8), "wzp")]
    nodes = [helper.make_node("DequantizeLinear", ["x", "s", "zp"], ["x0"]),
             helper.make_node("DequantizeLinear", ["w", "ws", "wzp"], ["wf"]),
             helper.make_node("Conv", ["x0", "wf"], ["c0"]),
             helper.make_node("QuantizeLinear", ["c0", "s", "zp"], ["c8"]),
             helper.make_node("DequantizeLinear", ["c8", "s", "zp"], ["xf"]),
             helper.make_node("Resize", rs_in, ["yf"], mode="linear",
                              coordinate_transformation_mode=mode),
             helper.make_node("QuantizeLinear", ["yf", "s", "zp"], ["y"])]
    g = helper.make_graph(nodes, "qdq_resize",
                          [helper.make_tensor_value_info("x", qt, [1, channels, *hw_in])],
                          [helper.make_tensor_value_info("y", qt, [1, channels, *hw_out])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def main():
    kiln = sys.argv[1]
    rng = np.random.default_rng(5)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for i, (dt, hw_in, hw_out, mode, by_sizes) in enumerate(CASES):
            m = model(dt, hw_in, hw_out, mode, by_sizes)
            path = os.path.join(tmp, f"m{i}.onnx")
            onnx.save(m, path)
            info = np.iinfo(dt)
            x = rng.integers(info.min, info.max + 1, (1, 21, *hw_in)).astype(dt)
            np.save(os.path.join(tmp, "x.npy"), x)
            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            want = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
            for flags in ([], ["--interp"]):
                out = os.path.join(tmp, f"out{i}")
                r = subprocess.run([kiln, "run", path, "--input", os.path.join(tmp, "x.npy"),
                                    "--output-dir", out] + flags, capture_output=True, text=True)
                if r.returncode:
                    print(f"FAIL case {i}: kiln exited {r.returncode}: {r.stderr.strip()}")
                    ok = False
                    continue
                got = np.load(os.path.join(out, "y.npy"))
                bad = int(np.count_nonzero(got.astype(np.int32) != want.astype(np.int32)))
                label = f"{np.dtype(dt).name} {hw_in}->{hw_out} {mode} {'sizes' if by_sizes else 'scales'} {'interp' if flags else 'backend'}"
                print(f"  {label}: {bad} of {want.size} differ {'ok' if bad == 0 else 'FAIL'}")
                ok &= bad == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
