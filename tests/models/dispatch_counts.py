#!/usr/bin/env python3
"""Dispatch counts of one suite model: runs `kiln report MODEL --json` and prints the
dispatch count, the number of roots (the lower bound: one root per dispatch) and the
data-movement-only dispatches, next to IREE's counts. Asserts:
  - dispatches <= roots + data-movement dispatches that the report explains (a rule in
    --why-not-fused touches them, or they only connect graph inputs and outputs);
  - every data-movement dispatch is explained;
  - tf2onnx-style DeepLabV3-MobileNetV2 (fp32 and int8, 513 and small): 0 data-movement
    dispatches and dispatches == roots, and the same with --target=npu-4x4x8-c4 (padding
    to the NPU's tiles adds no dispatch);
  - with --fuse-conv-chains: dispatches <= roots and 0 data-movement dispatches on every
    model, and on the MobileNet family (MobileNetV2/V3 backbones) fewer than half of
    IREE's default-flags count on the same model.
With --verify also runs `kiln compile MODEL --form-dispatches --verify-each` (and, on the
strict models, with --target=npu-4x4x8-c4 --fuse-conv-chains): the dispatch-formed
function must match the interpreter on random inputs.
Usage: dispatch_counts.py KILN MODEL.onnx [--verify]
"""
import json
import os
import subprocess
import sys

# IREE's reported dispatch counts (llvm-cpu; see shared/prior-art-iree.md sec. 3).
IREE = {
    "deeplabv3_mobilenet_v2_tf": "80-83 (7 standalone transposes)",
    "deeplabv3_mobilenet_v2_tf_int8": "80-83 (7 standalone transposes)",
    "deeplabv3_mobilenet_v2": "79-80 (TFLite-derived DeepLab, iree#8724, #10177)",
    "mobilenet_v2": "56-77",
    "resnet50": "95",
    "efficientnet_b0": "121",
}
# IREE 3.13's dispatch counts on these exact models with default llvm-cpu flags, measured by
# bench/peers.py on this project's machine (README, "Latest peer table", 2026-11-25). The
# small DeepLab copies were not run through IREE; they count as their 513 originals.
IREE_MEASURED = {
    "deeplabv3_mobilenet_v2": 67, "deeplabv3_mobilenet_v2_tf": 67,
    "deeplabv3_mobilenet_v2_tf_int8": 72, "mobilenet_v2": 55, "resnet50": 57,
    "efficientnet_b0": 116, "deeplabv3_mobilenet_v3_large": 94,
    "lraspp_mobilenet_v3_large": 87,
    "deeplabv3_mobilenet_v2_small": 67, "deeplabv3_mobilenet_v2_small_tf": 67,
    "deeplabv3_mobilenet_v2_small_tf_int8": 72,
}
STRICT = ("deeplabv3_mobilenet_v2_tf", "deeplabv3_mobilenet_v2_tf_int8",
          "deeplabv3_mobilenet_v2_small_tf", "deeplabv3_mobilenet_v2_small_tf_int8")
NPU = "--target=npu-4x4x8-c4"


def report(kiln, path, *flags):
    r = subprocess.run([kiln, "report", path, "--json", "--why-not-fused", *flags],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr)
        return None
    return json.loads(r.stdout)


def verify(kiln, path, *flags):
    v = subprocess.run([kiln, "compile", path, "--form-dispatches", "--verify-each", *flags],
                       capture_output=True, text=True)
    if v.returncode != 0:
        print(v.stderr.rstrip())
    return v.returncode == 0


def main():
    kiln, path = sys.argv[1], sys.argv[2]
    name = os.path.splitext(os.path.basename(path))[0]
    j = report(kiln, path)
    chains = report(kiln, path, "--fuse-conv-chains")
    if j is None or chains is None:
        return 1
    n, roots, dm = j["dispatches"], j["roots"], j["data_movement_dispatches"]
    explained = j["data_movement_explained"]
    iree = IREE_MEASURED.get(name)
    print(f"{name}: dispatches {n}, roots {roots}, data-movement dispatches {dm} "
          f"({explained} explained), transposes {j['transposes']}, "
          f"boundary bytes {j['boundary_bytes']}; with --fuse-conv-chains "
          f"{chains['dispatches']}; IREE: {iree if iree else '-'} measured, "
          f"{IREE.get(name, 'unknown')} reported")
    for row in j["rows"]:
        if row["data_movement"]:
            print(f"  data movement: {row['name']}: {', '.join(row['ops'])}")
    checks = [("dispatches <= roots + explained data-movement", n <= roots + explained),
              ("every data-movement dispatch explained", explained == dm),
              ("--fuse-conv-chains: dispatches <= roots", chains["dispatches"] <= chains["roots"]),
              ("--fuse-conv-chains: 0 data-movement dispatches",
               chains["data_movement_dispatches"] == 0)]
    if "mobilenet" in name and iree:
        checks.append((f"--fuse-conv-chains: {chains['dispatches']} < half of IREE's {iree}",
                       2 * chains["dispatches"] < iree))
    if name in STRICT:
        npu = report(kiln, path, NPU)
        if npu is None:
            return 1
        print(f"  {NPU}: dispatches {npu['dispatches']}, roots {npu['roots']}, "
              f"data-movement dispatches {npu['data_movement_dispatches']}")
        checks += [("0 data-movement dispatches", dm == 0), ("dispatches == roots", n == roots),
                   (f"{NPU}: 0 data-movement dispatches", npu["data_movement_dispatches"] == 0),
                   (f"{NPU}: dispatches == roots", npu["dispatches"] == npu["roots"] == roots)]
    if "--verify" in sys.argv:
        checks.append(("numerics unchanged (--verify-each)", verify(kiln, path)))
        if name in STRICT:
            checks.append((f"numerics unchanged with {NPU} --fuse-conv-chains",
                           verify(kiln, path, NPU, "--fuse-conv-chains")))
    ok = True
    for what, good in checks:
        ok &= good
        print(f"  {what}: {'ok' if good else 'FAIL'}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
