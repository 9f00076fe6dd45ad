#!/usr/bin/env python3
"""Peer harness: Kiln, IREE and ONNX Runtime side by side on the same machine, in one run.

For each suite model (tests/models/gen_models.py makes them):
  IREE   import with iree-import-onnx, compile for llvm-cpu (host CPU) twice: default
         flags, and the flags DeepLabV3 users pass (below); count dispatches and the
         data-movement-only ones from the dumped executable sources; latency with
         iree-benchmark-module at 1 and 2 threads.
  ORT    latency at 1 and 2 threads, all graph optimizations on.
  Kiln   dispatch counts from `kiln report --json`, latency from `kiln bench --json`
         (compiled backend, same threads), compile time of `kiln compile -o X.kiln`.
Latencies are medians of --runs runs (the machine is noisy; min and max are kept in the
JSON). Writes OUT/peers.json and OUT/peers.md and prints the table.

Usage: bench/peers.py [--models a,b] [--runs N] [--threads 1,2] [--out build/bench]
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.dirname(sys.executable)
DEFAULT_MODELS = ["deeplabv3_mobilenet_v2", "deeplabv3_mobilenet_v2_tf",
                  "deeplabv3_mobilenet_v2_tf_int8", "mobilenet_v2", "mobilenet_v2_int8", "resnet50",
                  "efficientnet_b0", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"]

# The flags DeepLabV3 users pass (nod-ai/iree-amd-aie#515), in this IREE version's spelling.
IREE_DEEPLAB_FLAGS = [
    "--iree-opt-data-tiling=false",
    "--iree-preprocessing-pass-pipeline=builtin.module(iree-preprocessing-transpose-convolution-pipeline)",
    "--iree-global-opt-propagate-transposes=true",
    "--iree-opt-aggressively-propagate-transposes=true",
    "--iree-dispatch-creation-enable-aggressive-fusion=true",
    "--iree-dispatch-creation-enable-fuse-padding-into-linalg-consumer-ops=true",
]
COMPUTE_OP = re.compile(r"linalg\.(conv|depthwise|matmul|batch_matmul|pooling|mmt4d|contract)"
                        r"|\b(arith\.(add|sub|mul|div|max|min|cmp|select)|math\.)"
                        r"|iree_linalg_ext\.(attention|winograd|online)")


def tool(name):
    p = os.path.join(VENV_BIN, name)
    return p if os.path.exists(p) else shutil.which(name)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def input_info(path):
    import onnx
    m = onnx.load(path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    (inp,) = [i for i in m.graph.input if i.name not in inits]
    shape = [d.dim_value or 1 for d in inp.type.tensor_type.shape.dim]
    return inp.name, shape


def graph_name(path):
    """iree-import-onnx names the exported function after the ONNX graph."""
    import onnx
    return onnx.load(path, load_external_data=False).graph.name or "main_graph"


def timed_runs(fn, runs, warmup=2):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return {"median_ms": statistics.median(ts), "min_ms": min(ts), "max_ms": max(ts), "runs": runs}


def bench_ort(path, threads, runs):
    import onnxruntime as ort
    name, shape = input_info(path)
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    out = {}
    for t in threads:
        o = ort.SessionOptions()
        o.intra_op_num_threads = t
        o.inter_op_num_threads = 1
        o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
        out[str(t)] = timed_runs(lambda: s.run(None, {name: x}), runs)
    return out


def classify_dispatches(flow_text):
    """Counts dispatch sites (`flow.dispatch @exe::@entry` ops) in IREE's flow-level IR —
    not dumped executables, which IREE deduplicates across identical dispatches. A site
    whose executable has no compute (no conv/matmul/pool, no arithmetic in any body) is
    pure data movement (transpose, copy, pad)."""
    bodies = {}
    parts = re.split(r"flow\.executable private @", flow_text)
    for part in parts[1:]:
        name = re.match(r"[^\s{]+", part).group(0)
        bodies[name] = part
    sites = re.findall(r"flow\.dispatch @([^:\s]+)::@([^(\s]+)", flow_text)
    movers = [entry for exe, entry in sites if not COMPUTE_OP.search(bodies.get(exe, "x"))]
    return len(sites), movers


# Flags that crash or fail iree-compile on some models in this IREE version; on failure the
# harness retries without them and records that it did (an honest, usable comparison).
IREE_FRAGILE_FLAGS = ["--iree-dispatch-creation-enable-fuse-padding-into-linalg-consumer-ops=true"]


def bench_iree(path, threads, runs, flags, work):
    out = bench_iree_once(path, threads, runs, flags, work)
    dropped = [f for f in flags if f in IREE_FRAGILE_FLAGS]
    if "error" in out and dropped:
        retry = bench_iree_once(path, threads, runs, [f for f in flags if f not in dropped], work)
        retry["flags_dropped"] = dropped
        retry["first_error"] = out["error"]
        return retry
    return out


def bench_iree_once(path, threads, runs, flags, work):
    compile_, imp, bench = tool("iree-compile"), tool("iree-import-onnx"), tool("iree-benchmark-module")
    if not (compile_ and imp and bench):
        return {"error": "IREE tools not installed (pip install -r scripts/requirements.txt)"}
    mlir = os.path.join(work, "model.mlir")
    if not os.path.exists(mlir):
        subprocess.run([imp, path, "-o", mlir], check=True, capture_output=True)
    tag = "deeplab" if flags else "default"
    tag += str(len(flags))
    vmfb, flow = os.path.join(work, f"{tag}.vmfb"), os.path.join(work, f"{tag}.flow.mlir")
    base = [compile_, mlir, "--iree-hal-target-backends=llvm-cpu", "--iree-llvmcpu-target-cpu=host"]
    t = time.perf_counter()
    r = subprocess.run(base + ["-o", vmfb] + flags, capture_output=True, text=True)
    compile_s = time.perf_counter() - t
    if r.returncode == 0:
        r = subprocess.run(base + ["--compile-to=flow", "-o", flow] + flags, capture_output=True, text=True)
    if r.returncode != 0:
        lines = [l for l in r.stderr.strip().splitlines() if "error" in l.lower()] or ["(no message)"]
        return {"error": "iree-compile failed: " + lines[0][:300]}
    n, movers = classify_dispatches(open(flow).read())
    out = {"dispatches": n, "data_movement_dispatches": len(movers), "data_movement": movers,
           "compile_s": compile_s, "latency": {}}
    _, shape = input_info(path)
    for th in threads:
        r = subprocess.run([bench, f"--module={vmfb}", "--device=local-task",
                            f"--function={graph_name(path)}",
                            f"--input={'x'.join(map(str, shape))}xf32=0.5",
                            f"--task_topology_max_group_count={th}",
                            f"--benchmark_repetitions={runs}", "--benchmark_min_time=0.001",
                            "--benchmark_format=json"], capture_output=True, text=True)
        if r.returncode != 0:
            out["latency"][str(th)] = {"error": r.stderr.strip()[-300:]}
            continue
        rep = json.loads(r.stdout[r.stdout.index("{"):])
        times = [b["real_time"] for b in rep["benchmarks"] if b.get("run_type") == "iteration"]
        unit = rep["benchmarks"][0].get("time_unit", "ms")
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
        ts = [x * scale for x in times]
        out["latency"][str(th)] = {"median_ms": statistics.median(ts), "min_ms": min(ts),
                                   "max_ms": max(ts), "runs": len(ts)}
    return out


def kiln_figures(kiln, path, threads, runs):
    out = {}
    with tempfile.TemporaryDirectory() as work:  # compile time: ONNX -> .kiln file
        t = time.perf_counter()
        r = subprocess.run([kiln, "compile", path, "-o", os.path.join(work, "m.kiln")],
                           capture_output=True, text=True)
        if r.returncode == 0:
            out["compile_s"] = time.perf_counter() - t
    r = subprocess.run([kiln, "report", path, "--json"], capture_output=True, text=True)
    if r.returncode == 0:
        rep = json.loads(r.stdout)
        out["dispatches"] = rep["dispatches"]
        out["data_movement_dispatches"] = rep["data_movement_dispatches"]
    out["latency"] = {}
    for t in threads:
        r = subprocess.run([kiln, "bench", path, "--threads", str(t), "--iterations", str(runs),
                            "--json"], capture_output=True, text=True)
        if r.returncode == 0:
            out["latency"][str(t)] = json.loads(r.stdout)
    return out


def fmt(v, spec="{:.1f}"):
    return "not yet" if v is None else (spec.format(v) if isinstance(v, float) else str(v))


def lat(d, t):
    try:
        return d["latency"][str(t)]["median_ms"]
    except (KeyError, TypeError):
        return None


def table(results, threads):
    head = ["model", "dispatches Kiln", "IREE default", "IREE deeplab flags",
            "data-movement Kiln", "IREE default", "IREE deeplab flags",
            "compile s Kiln", "compile s IREE"]
    for t in threads:
        head += [f"{t}T Kiln ms", f"{t}T ORT ms", f"{t}T IREE ms", f"{t}T Kiln/ORT", f"{t}T Kiln/IREE"]
    rows = []
    for name, r in results.items():
        k, d, f = r.get("kiln", {}), r.get("iree_default", {}), r.get("iree_deeplab", {})
        row = [name, fmt(k.get("dispatches")), fmt(d.get("dispatches", d.get("error") and "error")),
               fmt(f.get("dispatches", f.get("error") and "error")), fmt(k.get("data_movement_dispatches")),
               fmt(d.get("data_movement_dispatches")), fmt(f.get("data_movement_dispatches")),
               fmt(k.get("compile_s"), "{:.2f}"), fmt(d.get("compile_s"), "{:.1f}")]
        for t in threads:
            kl, ol = lat(k, t), lat({"latency": r.get("ort", {})}, t)
            il = min([x for x in (lat(d, t), lat(f, t)) if x is not None], default=None)
            row += [fmt(kl), fmt(ol), fmt(il), fmt(kl / ol if kl and ol else None, "{:.2f}"),
                    fmt(kl / il if kl and il else None, "{:.2f}")]
        rows.append(row)
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(md)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "build", "models"))
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    ap.add_argument("--skip-iree", action="store_true")
    ap.add_argument("--reuse-iree", metavar="PEERS_JSON",
                    help="take IREE's figures from an earlier peers.json (same machine) instead "
                         "of measuring them again; the table says so")
    ap.add_argument("--table-only", action="store_true",
                    help="re-render OUT/peers.md from OUT/peers.json without measuring")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    if a.table_only:
        with open(os.path.join(a.out, "peers.json")) as f:
            saved = json.load(f)
        write_table(a.out, saved["meta"], saved["results"], threads)
        return
    models = a.models.split(",")
    os.makedirs(a.out, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "models", "gen_models.py"),
                    a.model_dir] + models, check=True)
    results = {}
    for m in models:
        path = os.path.join(a.model_dir, m + ".onnx")
        print(f"== {m}", flush=True)
        r = results[m] = {}
        r["ort"] = bench_ort(path, threads, a.runs)
        old = {}
        if a.reuse_iree:
            with open(a.reuse_iree) as f:
                old = json.load(f)["results"].get(m, {})
            for key in ("iree_default", "iree_deeplab"):
                if key in old:
                    r[key] = dict(old[key], reused_from=a.reuse_iree)
        if not a.skip_iree and not old:  # not reused (a model the earlier run did not have)
            with tempfile.TemporaryDirectory() as work:
                r["iree_default"] = bench_iree(path, threads, a.runs, [], work)
                r["iree_deeplab"] = bench_iree(path, threads, a.runs, IREE_DEEPLAB_FLAGS, work)
        r["kiln"] = kiln_figures(a.kiln, path, threads, a.runs)
        print(json.dumps({k: v for k, v in r.items()}, indent=1)[:2000], flush=True)
    meta = {"cpu": cpu_name(), "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
            "runs": a.runs, "iree_deeplab_flags": IREE_DEEPLAB_FLAGS,
            "iree_reused_from": a.reuse_iree}
    with open(os.path.join(a.out, "peers.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    write_table(a.out, meta, results, threads)


def write_table(out, meta, results, threads):
    md = table(results, threads)
    with open(os.path.join(out, "peers.md"), "w") as f:
        reused = (f" IREE figures reused from {meta['iree_reused_from']} (measured earlier on the "
                  f"same machine)." if meta.get("iree_reused_from") else "")
        f.write(f"Machine: {meta['cpu']}, {meta['cores']} cores, {meta['date']}; median of "
                f"{meta['runs']} runs (noisy shared machine).{reused}\n\n{md}\n")
    print(md)


if __name__ == "__main__":
    main()
