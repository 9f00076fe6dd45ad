#!/usr/bin/env python3
"""Dispatch counts of one suite model: runs `kiln report MODEL --json` and prints the
dispatch count, the number of roots (the lower bound: one root per dispatch) and the
data-movement-only dispatches, next to IREE's published counts where known
(shared/prior-art-iree.md sec. 3). Asserts:
  - dispatches <= roots + data-movement dispatches that the report explains (a rule in
    --why-not-fused touches them, or they only connect graph inputs and outputs);
  - every data-movement dispatch is explained;
  - tf2onnx-style DeepLabV3-MobileNetV2 (fp32 and int8, 513 and small): 0 data-movement
    dispatches and dispatches == roots.
With --verify also runs `kiln compile MODEL --form-dispatches --verify-each`: the
dispatch-formed function must match the interpreter on random inputs.
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
STRICT = ("deeplabv3_mobilenet_v2_tf", "deeplabv3_mobilenet_v2_tf_int8",
          "deeplabv3_mobilenet_v2_small_tf", "deeplabv3_mobilenet_v2_small_tf_int8")


def main():
    kiln, path = sys.argv[1], sys.argv[2]
    name = os.path.splitext(os.path.basename(path))[0]
    r = subprocess.run([kiln, "report", path, "--json", "--why-not-fused"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr)
        return 1
    j = json.loads(r.stdout)
    n, roots, dm = j["dispatches"], j["roots"], j["data_movement_dispatches"]
    explained = j["data_movement_explained"]
    print(f"{name}: dispatches {n}, roots {roots}, data-movement dispatches {dm} "
          f"({explained} explained), transposes {j['transposes']}, "
          f"boundary bytes {j['boundary_bytes']}; IREE: {IREE.get(name, 'unknown')}")
    for row in j["rows"]:
        if row["data_movement"]:
            print(f"  data movement: {row['name']}: {', '.join(row['ops'])}")
    checks = [("dispatches <= roots + explained data-movement", n <= roots + explained),
              ("every data-movement dispatch explained", explained == dm)]
    if name in STRICT:
        checks += [("0 data-movement dispatches", dm == 0), ("dispatches == roots", n == roots)]
    if "--verify" in sys.argv:
        v = subprocess.run([kiln, "compile", path, "--form-dispatches", "--verify-each"],
                           capture_output=True, text=True)
        if v.returncode != 0:
            print(v.stderr.rstrip())
        checks.append(("numerics unchanged (--verify-each)", v.returncode == 0))
    ok = True
    for what, good in checks:
        ok &= good
        print(f"  {what}: {'ok' if good else 'FAIL'}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
