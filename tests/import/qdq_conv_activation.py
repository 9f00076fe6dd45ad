#!/usr/bin/env python3
"""A QDQ conv unit with an explicit Relu or Clip between the conv and its Q, against ONNX
Runtime's int8 execution.

Usage: qdq_conv_activation.py KILN

quantize-convs moves the clamp after the requantize as a clamp of the 8-bit values by
Q(lo), Q(hi) (Q is monotone), so the conv runs on the integer path; the outputs must equal
ORT's on every value, on the backend and the interpreter, and the compiled graph must hold
an integer conv and no float one.
"""
import onnx, numpy as np, onnxruntime as ort, subprocess, os, tempfile, sys
from onnx import helper, TensorProto, numpy_helper
rng = np.random.default_rng(3)
def build(act):
    sx, sw, sy = 0.02, 0.01, 0.015
    w8 = rng.integers(-127, 128, (8, 4, 3, 3)).astype(np.int8)
    b32 = rng.integers(-300, 300, 8).astype(np.int32)
    nodes = [helper.make_node('DequantizeLinear', ['x', 'sx', 'zx'], ['xf']),
             helper.make_node('DequantizeLinear', ['w8', 'sw'], ['wf']),
             helper.make_node('DequantizeLinear', ['b32', 'sb'], ['bf']),
             helper.make_node('Conv', ['xf', 'wf', 'bf'], ['c'], pads=[1, 1, 1, 1])]
    if act == 'relu': nodes.append(helper.make_node('Relu', ['c'], ['a']))
    else: nodes.append(helper.make_node('Clip', ['c', 'lo', 'hi'], ['a']))
    nodes.append(helper.make_node('QuantizeLinear', ['a', 'sy', 'zy'], ['y']))
    inits = [numpy_helper.from_array(np.array(sx, np.float32), 'sx'), numpy_helper.from_array(np.array(128, np.uint8), 'zx'),
             numpy_helper.from_array(w8, 'w8'), numpy_helper.from_array(np.array(sw, np.float32), 'sw'),
             numpy_helper.from_array(b32, 'b32'), numpy_helper.from_array(np.array(np.float32(sx) * np.float32(sw), np.float32), 'sb'),
             numpy_helper.from_array(np.array(sy, np.float32), 'sy'), numpy_helper.from_array(np.array(100, np.uint8), 'zy'),
             numpy_helper.from_array(np.array(-0.3, np.float32), 'lo'), numpy_helper.from_array(np.array(1.2, np.float32), 'hi')]
    g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('x', TensorProto.UINT8, [1, 4, 16, 16])],
                          [helper.make_tensor_value_info('y', TensorProto.UINT8, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]); m.ir_version = 8
    return m
ok = True
for act in ('relu', 'clip'):
    m = build(act); d = tempfile.mkdtemp(); p = os.path.join(d, 'm.onnx'); onnx.save(m, p)
    x = rng.integers(0, 256, (1, 4, 16, 16)).astype(np.uint8); np.save(os.path.join(d, 'x.npy'), x)
    ref = ort.InferenceSession(p, providers=['CPUExecutionProvider']).run(None, {'x': x})[0]
    for extra in ([], ['--interp']):
        r = subprocess.run([sys.argv[1], 'run', p, '--input', os.path.join(d, 'x.npy'), '--output-dir', os.path.join(d, 'o')] + extra, capture_output=True, text=True)
        got = np.load(os.path.join(d, 'o', 'y.npy'))
        diff = np.abs(got.astype(int) - ref.astype(int))
        print(f"  {act} {'interp' if extra else 'backend'}: {100 * (diff == 0).mean():.3f}% equal, max {diff.max()} step(s), outputs {got.min()}..{got.max()}")
        ok &= r.returncode == 0 and diff.max() == 0
    ir = subprocess.run([sys.argv[1], 'compile', p, '--emit-ir'], capture_output=True, text=True).stdout
    integer = 'xi32>' in ir and 'conv_2d' in ir and 'tensor<8x4x3x3xf32>' not in ir
    print(f"  {act}: integer conv {integer}")
    ok &= integer
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
