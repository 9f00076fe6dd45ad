#!/usr/bin/env python3
"""Text round trip on one suite model: `kiln print` -> parse -> print is byte-identical,
with weights elided (dense_resource handles) and with --emit-resources (weights in the
file); the same for the optimized IR (`kiln compile --emit-ir`); and `mlir-opt-16
--allow-unregistered-dialect` accepts the printed module.
Usage: text_roundtrip.py KILN MODEL.onnx [MLIR_OPT]
"""
import os
import subprocess
import sys
import tempfile


def run(cmd):
    r = subprocess.run(cmd, capture_output=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def round_trip(kiln, tmp, tag, first_cmd, flags):
    a = os.path.join(tmp, f"{tag}_a.mlir")
    text_a = run(first_cmd + flags)
    with open(a, "wb") as f:
        f.write(text_a)
    text_b = run([kiln, "print", a] + flags)
    same = text_a == text_b
    print(f"  {tag} {' '.join(flags) or '(elided weights)'}: {len(text_a)} bytes, "
          f"print->parse->print {'identical' if same else 'DIFFERS'}")
    return same, a


def main():
    kiln, model = sys.argv[1], sys.argv[2]
    mlir_opt = sys.argv[3] if len(sys.argv) > 3 else "mlir-opt-16"
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for tag, cmd in [("imported", [kiln, "print", model]),
                         ("optimized", [kiln, "compile", model, "--emit-ir"])]:
            same, path = round_trip(kiln, tmp, tag, cmd, [])
            ok &= same
            same, _ = round_trip(kiln, tmp, tag, cmd, ["--emit-resources"])
            ok &= same
            r = subprocess.run([mlir_opt, "--allow-unregistered-dialect", path, "-o", os.devnull],
                               capture_output=True, text=True)
            print(f"  {tag}: mlir-opt {'accepts' if r.returncode == 0 else 'REJECTS'} it"
                  + ("" if r.returncode == 0 else f": {r.stderr.strip()[:500]}"))
            ok &= r.returncode == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
