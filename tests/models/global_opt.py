#!/usr/bin/env python3
"""Global-optimization targets on one suite model: after the pipeline, count transposes,
reshapes and convs not in channels-last form, print them, and assert the targets:
  - 0 transposes away from the graph boundary (a boundary transpose reads a graph input
    or produces a graph output), and at most one per graph input and output;
  - 0 NCHW conv / depthwise conv / pooling ops.
Then `kiln verify` checks every pass numerically with the reference interpreter.
Usage: global_opt.py KILN MODEL.onnx [--no-verify]
"""
import json
import subprocess
import sys

import onnx


def main():
    kiln, path = sys.argv[1], sys.argv[2]
    m = onnx.load(path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    n_edges = len([i for i in m.graph.input if i.name not in inits]) + len(m.graph.output)
    r = subprocess.run([kiln, "compile", path, "--stats"], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr)
        return 1
    s = json.loads(r.stdout)
    print(f"after global optimization: {s['ops']} ops, transposes {s['transposes']} "
          f"(boundary {s['boundary_transposes']}, elsewhere {s['non_boundary_transposes']}), "
          f"reshapes {s['reshapes']}, NCHW convs/pools {s['nchw_convs']}, "
          f"NCHW conv-transposes {s['conv_transposes_nchw']}")
    print("ops by kind:", json.dumps(s["by_kind"]))
    ok = True
    for what, got, limit in [("non-boundary transposes", s["non_boundary_transposes"], 0),
                             ("boundary transposes", s["boundary_transposes"], n_edges),
                             ("NCHW convs/pools", s["nchw_convs"], 0)]:
        good = got <= limit
        ok &= good
        print(f"  {what}: {got} (target <= {limit}) {'ok' if good else 'FAIL'}")
    if "--no-verify" not in sys.argv:
        r = subprocess.run([kiln, "verify", path], capture_output=True, text=True)
        print(r.stdout.rstrip())
        if r.returncode != 0:
            print(r.stderr.rstrip())
            ok = False
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
