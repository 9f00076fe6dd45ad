#!/usr/bin/env python3
"""Bad input never crashes: each case runs `kiln` on a hostile input and expects exit
status 1, exactly one line on stderr starting with 'kiln: error:' that contains the
expected words, and nothing from a sanitizer. Usage: test_errors.py KILN
"""
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper

KILN = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="kiln_errors_")
failures = []


def path(name):
    return os.path.join(TMP, name)


def conv_model(**kw):
    """A valid 1-conv model: input x[1,3,8,8], weight w[4,3,3,3], output y."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], np.ones(108, np.float32))
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv1", pads=[1, 1, 1, 1])
    nodes = kw.get("nodes", [node])
    inits = kw.get("inits", [w])
    g = helper.make_graph(nodes, "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", kw.get("opset", 13))])
    return m


def raw_tensor(name, dims, values=()):
    """A TensorProto whose dims need not match its data (make_tensor refuses that)."""
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.float_data.extend(values)
    return t


def save(model, name):
    p = path(name)
    with open(p, "wb") as f:
        f.write(model.SerializeToString())
    return p


def write_bytes(name, data):
    p = path(name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def expect(case, args, *words):
    r = subprocess.run([KILN] + args, capture_output=True, text=True, timeout=120)
    err = r.stderr.strip().splitlines()
    ok = (r.returncode == 1 and len(err) == 1 and err[0].startswith("kiln: error:")
          and all(w in err[0] for w in words))
    print(f"{'ok  ' if ok else 'FAIL'} {case}: rc={r.returncode} {err[:3]}")
    if not ok:
        failures.append(case)


def main():
    good = conv_model()
    good_path = save(good, "good.onnx")
    raw = good.SerializeToString()
    x = path("x.npy")
    np.save(x, np.zeros((1, 3, 8, 8), np.float32))

    expect("missing file", ["run", path("nope.onnx"), "--random-inputs", "1"], "nope.onnx", "cannot open")
    expect("empty file", ["run", write_bytes("empty.onnx", b""), "--random-inputs", "1"], "empty")
    for cut in (7, len(raw) // 3, len(raw) // 2, len(raw) - 5):
        expect(f"truncated at {cut}", ["run", write_bytes(f"trunc{cut}.onnx", raw[:cut]),
                                       "--random-inputs", "1"])
    rnd = random.Random(5)
    for i in range(5):
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 4000)))
        expect(f"random bytes {i}", ["run", write_bytes(f"rand{i}.onnx", data), "--random-inputs", "1"])

    m = conv_model(nodes=[helper.make_node("FancyOp", ["x"], ["y"], name="fancy1")], inits=[])
    expect("unsupported op", ["run", save(m, "unsup.onnx"), "--random-inputs", "1"],
           "FancyOp", "fancy1", "13")

    m = conv_model(inits=[])
    expect("missing initializer", ["run", save(m, "noinit.onnx"), "--random-inputs", "1"], "'w'", "conv1")

    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], np.ones(108, np.float32))
    w.data_location = TensorProto.EXTERNAL
    del w.float_data[:]
    w.external_data.add(key="location", value="weights.bin")
    m = conv_model(inits=[w])
    expect("missing external data", ["run", save(m, "ext.onnx"), "--random-inputs", "1"], "weights.bin")

    big = raw_tensor("w", [1 << 40, 1 << 40, 3, 3])
    m = conv_model(inits=[big])
    expect("absurd dims", ["run", save(m, "absurd.onnx"), "--random-inputs", "1"], "'w'")

    neg = raw_tensor("w", [4, -3, 3, 3])
    m = conv_model(inits=[neg])
    expect("negative dim", ["run", save(m, "neg.onnx"), "--random-inputs", "1"], "'w'")

    short = raw_tensor("w", [4, 3, 3, 3], [1.0] * 10)
    m = conv_model(inits=[short])
    expect("short initializer data", ["run", save(m, "short.onnx"), "--random-inputs", "1"], "'w'")

    w5 = helper.make_tensor("w", TensorProto.FLOAT, [4, 5, 3, 3], np.ones(180, np.float32))
    m = conv_model(inits=[w5])
    expect("channel mismatch", ["run", save(m, "chan.onnx"), "--random-inputs", "1"], "conv1")

    bad_shape = path("bad_shape.npy")
    np.save(bad_shape, np.zeros((1, 3, 9, 8), np.float32))
    expect("wrong input shape", ["run", good_path, "--input", bad_shape], "bad_shape.npy", "'x'",
           "tensor<1x3x8x8xf32>", "holds 1x3x9x8 ")
    bad_dtype = path("bad_dtype.npy")
    np.save(bad_dtype, np.zeros((1, 3, 8, 8), np.float64))
    expect("wrong input dtype", ["run", good_path, "--input", bad_dtype], "bad_dtype.npy", "<f8")
    fortran = path("fortran.npy")
    np.save(fortran, np.asfortranarray(np.zeros((1, 3, 8, 8), np.float32)[0, 0:2]))
    with open(fortran, "rb") as f:
        data = f.read().replace(b"'fortran_order': False", b"'fortran_order': True ")
    expect("fortran-order npy", ["run", good_path, "--input", write_bytes("f.npy", data)], "Fortran")
    expect("truncated npy", ["run", good_path, "--input", write_bytes("t.npy", open(x, "rb").read()[:100])],
           "t.npy")
    expect("not an npy", ["run", good_path, "--input", write_bytes("n.npy", b"hello")], "n.npy")
    expect("input count", ["run", good_path, "--input", x, "--input", x], "1 inputs", "2")
    expect("bad mlir", ["run", write_bytes("bad.mlir", b"func.func @main( {"), "--random-inputs", "1"],
           "bad.mlir:1:")

    r = subprocess.run([KILN, "run", good_path, "--input", x], capture_output=True, text=True)
    print(f"{'ok  ' if r.returncode == 0 else 'FAIL'} good model runs: rc={r.returncode} {r.stderr.strip()[:200]}")
    if r.returncode != 0:
        failures.append("good model")

    print(f"{len(failures)} failed: {failures}" if failures else "all error cases ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
