#!/bin/sh
# run.sh REPLAY DIR — replays every input in DIR/<target>/ (onnx, mlir, mlir_upstream, npy,
# pipeline, kiln):
# each must exit 0 (valid) or 1 with exactly one stderr line "kiln: error: ...", never
# a signal, an abort or a sanitizer report. An input with a sidecar FILE.expect must give
# exactly that result: "ok" (exit 0), or exit 1 with the .expect's line in the message.
# Prints one line per failure and a summary.
replay=$1 dir=$2
fail=0 n=0
err=$(mktemp)
for target in onnx mlir mlir_upstream npy pipeline kiln; do
  for f in "$dir/$target"/*; do
    [ -f "$f" ] || continue
    case $f in *.expect) continue ;; esac
    n=$((n + 1))
    "$replay" "$target" "$f" >/dev/null 2>"$err"
    rc=$?
    lines=$(wc -l <"$err")
    if [ -f "$f.expect" ]; then
      want=$(head -1 "$f.expect")
      if [ "$want" = ok ]; then
        [ "$rc" -eq 0 ] && [ "$lines" -eq 0 ] && continue
      elif [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ] && grep -qF -- "$want" "$err"; then
        continue
      fi
      echo "FAIL $target/$(basename "$f"): expected '$want', got exit $rc, stderr:"
      head -c 2000 "$err"
      fail=$((fail + 1))
      continue
    fi
    if [ "$rc" -eq 0 ] && [ "$lines" -eq 0 ]; then continue; fi
    if [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ] && grep -q '^kiln: error: ' "$err"; then continue; fi
    echo "FAIL $target/$(basename "$f"): exit $rc, stderr:"
    head -c 2000 "$err"
    fail=$((fail + 1))
  done
done
rm -f "$err"
echo "regress: $n inputs, $fail failed"
[ "$fail" -eq 0 ]
