#!/usr/bin/env python3
"""ONNX conformance: runs the backend node tests that ship inside the `onnx` package
(onnx/backend/test/data/node/*/model.onnx with test_data_set_*) through `kiln run`.

Usage: run_node_tests.py KILN [--filter REGEX] [--verbose]

Kiln compiles for static shapes. When kiln says a value must be a constant (axes, pads,
shape, sizes...) and the test feeds it (or the values it is computed from) as graph
inputs, the runner freezes those inputs into the model as initializers holding the test's
own values, runs again and compares as usual; such tests are named in the output and
counted in the summary.

Each test falls in one class:
  pass          every output matches (floats: |k - e| <= atol + rtol*|e|, the ONNX backend
                test defaults rtol=1e-3, atol=1e-7; integers and bools exactly)
  excluded      listed in exclusions.txt (with its reason); must not crash
  unsupported   the model uses an op Kiln does not import: kiln must exit 1 with one clean
                'kiln: error: ... unsupported ...' line; never a crash
  FAIL          anything else: a supported-op test that errs or mismatches, or a crash,
                signal, hang or unclean error on any test
The scope of "supported" is what `kiln ops` lists. Prints one line per test that is not a
plain pass (all with --verbose), then a summary and 'N passed, N failed'.
"""
import argparse
import concurrent.futures as cf
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
RTOL, ATOL = 1e-3, 1e-7


def node_test_dir():
    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")


def load_exclusions():
    out = {}
    with open(os.path.join(HERE, "exclusions.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                name, _, why = line.partition(" ")
                out[name] = why.strip()
    return out


def model_ops(model):
    ops = set()

    def walk(graph):
        for n in graph.node:
            ops.add(n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}")
            for a in n.attribute:
                if a.g.node:
                    walk(a.g)
                for g in a.graphs:
                    walk(g)
    walk(model.graph)
    return ops


def read_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def compare(got, want):
    if got.shape != want.shape:
        return f"shape {list(got.shape)} != expected {list(want.shape)}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype} != expected {want.dtype}"
    if np.issubdtype(want.dtype, np.floating):
        g, w = got.astype(np.float64), want.astype(np.float64)
        same_nan = np.isnan(g) == np.isnan(w)
        close = np.isclose(g, w, rtol=RTOL, atol=ATOL, equal_nan=True)
        if not (same_nan.all() and close.all()):
            bad = np.argwhere(~close)[0]
            return (f"mismatch at {tuple(bad)}: got {g[tuple(bad)]!r}, expected "
                    f"{w[tuple(bad)]!r} ({int((~close).sum())} of {w.size} values)")
        return None
    if not np.array_equal(got, want):
        return f"{int((got != want).sum())} of {want.size} values differ"
    return None


CONST_RE = re.compile(r"input '([^']+)' \([^)]*\) must be a constant")


def load_set(sdir, real_inputs):
    """The data set's inputs by graph-input name, and its expected outputs."""
    ins = sorted((f for f in os.listdir(sdir) if f.startswith("input_")), key=lambda x: int(x[6:-3]))
    outs = sorted((f for f in os.listdir(sdir) if f.startswith("output_")), key=lambda x: int(x[7:-3]))
    feeds = {real_inputs[k]: read_pb(os.path.join(sdir, f)) for k, f in enumerate(ins)}
    return feeds, [read_pb(os.path.join(sdir, f)) for f in outs]


def freeze(model, name, arr):
    """Kiln compiles for static shapes: a graph input it needs as a constant (axes, pads,
    shape, scales...) becomes an initializer holding the data set's value, as a user
    compiling for fixed shapes would do."""
    keep = [i for i in model.graph.input if i.name != name]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    model.graph.initializer.append(numpy_helper.from_array(arr, name))


def upstream_inputs(model, value):
    """The graph inputs whose data `value` is computed from (a value Kiln needs as a
    constant may be computed, e.g. pads from a 'shape' input). Shape and Size depend only
    on their input's static shape, so the walk does not go through them."""
    producer = {o: n for n in model.graph.node for o in n.output}
    graph_inputs = {i.name for i in model.graph.input}
    found, seen, stack = [], set(), [value]
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if v in graph_inputs:
            found.append(v)
        elif v in producer and producer[v].op_type not in ("Shape", "Size"):
            stack.extend(i for i in producer[v].input if i)
    return found


def run_kiln(kiln, model_path, order, feeds, tmp):
    cmd = [kiln, "run", model_path, "--output-dir", os.path.join(tmp, "out")]
    for k, nm in enumerate(order):
        p = os.path.join(tmp, f"in{k}.npy")
        np.save(p, np.array(feeds[nm], order="C"))  # keeps 0-d arrays 0-d
        cmd += ["--input", p]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def check_outputs(model, want, tmp):
    for k, w in enumerate(want):
        oname = model.graph.output[k].name
        safe = re.sub(r"[/\\:]", "_", oname)
        p = os.path.join(tmp, "out", safe + ".npy")
        if not os.path.exists(p):
            return f"no output file for '{oname}'"
        why = compare(np.load(p), w)
        if why:
            return f"output '{oname}': {why}"
    return None


def run_one(kiln, tdir, supported, exclusions):
    """Returns (name, class, detail, frozen input names)."""
    name = os.path.basename(tdir)
    model_path = os.path.join(tdir, "model.onnx")
    try:
        model = onnx.load(model_path)
    except Exception as e:  # a test the onnx package itself cannot read
        return name, "excluded", f"onnx cannot load it: {e}", []
    in_scope = model_ops(model) <= supported
    sets = sorted(d for d in os.listdir(tdir) if d.startswith("test_data_set_"))
    init_names = {i.name for i in model.graph.initializer}
    order = [i.name for i in model.graph.input if i.name not in init_names]
    feeds, want, frozen = {}, [], []
    if sets:
        try:
            feeds, want = load_set(os.path.join(tdir, sets[0]), order)
        except Exception as e:
            if name in exclusions:
                return name, "excluded", exclusions[name], []
            return name, "excluded" if not in_scope else "FAIL", f"data not a tensor: {e}", []
    with tempfile.TemporaryDirectory() as tmp:
        while True:
            try:
                r = run_kiln(kiln, model_path, order, feeds, tmp)
            except subprocess.TimeoutExpired:
                return name, "FAIL", "hang: kiln ran over 120 s", frozen
            err = r.stderr.strip().splitlines()
            if r.returncode == 0 and re.search(r"Sanitizer|runtime error:", r.stderr):
                return name, "FAIL", f"sanitizer report: {' | '.join(err[-5:])}", frozen
            if r.returncode == 0:
                break
            clean = r.returncode == 1 and len(err) == 1 and err[0].startswith("kiln: error:")
            if not clean:
                return name, "FAIL", f"unclean failure rc={r.returncode}: {' | '.join(err[-5:])}", frozen
            m = CONST_RE.search(err[0])
            todo = [v for v in upstream_inputs(model, m.group(1)) if v in feeds] if m else []
            if todo:
                for nm in todo:
                    frozen.append(nm)
                    order.remove(nm)
                    freeze(model, nm, feeds[nm])
                model_path = os.path.join(tmp, "frozen.onnx")
                onnx.save(model, model_path)
                continue
            if name in exclusions:
                return name, "excluded", exclusions[name], frozen
            if not in_scope and "unsupported" in err[0]:
                return name, "unsupported", err[0], frozen
            return name, "FAIL", err[0], frozen
        why = check_outputs(model, want, tmp)
    if why:
        if name in exclusions:
            return name, "excluded", exclusions[name], frozen
        return name, "FAIL", why, frozen
    if name in exclusions:
        return name, "FAIL", f"listed in exclusions.txt but passes: remove it ({exclusions[name]})", frozen
    return name, "pass", "", frozen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kiln")
    ap.add_argument("--filter", default="")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    supported = set(subprocess.run([a.kiln, "ops"], capture_output=True, text=True,
                                   check=True).stdout.split())
    exclusions = load_exclusions()
    root = node_test_dir()
    tests = sorted(os.path.join(root, d) for d in os.listdir(root) if re.search(a.filter, d))
    counts = {"pass": 0, "excluded": 0, "unsupported": 0, "FAIL": 0}
    n_frozen = 0
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        for name, cls, detail, frozen in ex.map(lambda t: run_one(a.kiln, t, supported, exclusions),
                                                tests):
            counts[cls] += 1
            n_frozen += bool(frozen)
            note = f" [frozen inputs: {', '.join(frozen)}]" if frozen else ""
            if cls == "FAIL" or a.verbose or cls == "excluded" or frozen:
                print(f"{cls:11s} {name}: {detail}{note}", flush=True)
    print(f"node tests: {counts['pass']} pass, {counts['excluded']} excluded, "
          f"{counts['unsupported']} unsupported (clean error), {counts['FAIL']} FAIL; "
          f"{n_frozen} ran with graph inputs frozen to their test values")
    # pass = right answer or clean, expected refusal; fail = everything else.
    print(f"{counts['pass'] + counts['excluded'] + counts['unsupported']} passed, "
          f"{counts['FAIL']} failed")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
