#!/usr/bin/env bash
# bench/fuzz.sh TARGET|all SECONDS — runs the libFuzzer targets (issue 7).
#
# TARGET: onnx | mlir | mlir_upstream | npy | pipeline | kiln | all (one after the other,
# never in parallel).
# Builds build-fuzz/ (clang, -DKILN_FUZZ=ON: ASan + UBSan + libFuzzer), generates the seed
# corpora once into build-fuzz/seeds (fuzz/make_corpus.py; needs the test venv's onnx and
# numpy; suite models from $KILN_MODEL_DIR, default build/models), merges them into the working corpora build-fuzz/corpus/TARGET (which keep
# growing across runs), runs each target SECONDS seconds and prints one line per target:
# executions, final coverage (cov: of libFuzzer's last stats line), features, corpus size,
# crashes. A crashing input is written to build-fuzz/artifacts/TARGET/; replay it with
# `build-fuzz/fuzz/fuzz_TARGET FILE` and add it to tests/regress/TARGET/.
# Exits 1 if any target found a crash, hang, leak or sanitizer report. The tree is built
# without -Werror: clang warns about things gcc does not, and a warning in work in
# progress elsewhere must not stop a fuzz run (the gcc trees keep -Werror).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${1:-all}
secs=${2:-60}
py=${KILN_PYTHON:-$root/.venv/bin/python}
[ -x "$py" ] || py=python3
case "$target" in
  all) targets="onnx mlir mlir_upstream npy pipeline kiln" ;;
  onnx|mlir|mlir_upstream|npy|pipeline|kiln) targets=$target ;;
  *) echo "usage: bench/fuzz.sh onnx|mlir|mlir_upstream|npy|pipeline|kiln|all SECONDS" >&2; exit 2 ;;
esac

B=build-fuzz
cmake -S . -B $B -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release -DKILN_FUZZ=ON -DKILN_WERROR=OFF \
  >/dev/null || exit 1
cmake --build $B -j"${KILN_JOBS:-2}" --target fuzz_onnx fuzz_mlir fuzz_mlir_upstream fuzz_npy fuzz_pipeline fuzz_kiln kiln \
  >$B/fuzz-build.log 2>&1 || { tail -30 $B/fuzz-build.log; exit 1; }
if [ ! -d $B/seeds/kiln ] || [ ! -d $B/seeds/mlir_upstream ]; then
  rm -rf $B/seeds
  ASAN_OPTIONS=detect_leaks=0 "$py" fuzz/make_corpus.py $B/seeds $B/kiln "${KILN_MODEL_DIR:-build/models}" || exit 1
fi

max_len() {
  case $1 in npy) echo 4096 ;; kiln) echo 262144 ;; *) echo 65536 ;; esac
}

status=0
summary=""
for t in $targets; do
  mkdir -p $B/corpus/$t $B/artifacts/$t
  cp -n $B/seeds/$t/* $B/corpus/$t/ 2>/dev/null
  extra=()
  # kiln: the custom mutator's text mutations use the MLIR dictionary too
  [ "$t" = mlir ] || [ "$t" = kiln ] && extra=(-dict=fuzz/mlir.dict)
  [ "$t" = mlir_upstream ] && extra=(-dict=fuzz/mlir_upstream.dict)
  log=$B/fuzz-$t.log
  before=$(ls $B/artifacts/$t | wc -l)
  start=$(date +%s)
  $B/fuzz/fuzz_$t $B/corpus/$t "${extra[@]}" -max_len="$(max_len $t)" -timeout=10 \
    -rss_limit_mb=2048 -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix=$B/artifacts/$t/ >"$log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  after=$(ls $B/artifacts/$t | wc -l)
  crashes=$((after - before))
  [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes=1
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
  line=$(printf '%-9s %5ss  execs %-10s cov %-6s ft %-6s corpus %-6s crashes %s' "$t" "$took" \
         "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes")
  echo "$line"
  summary+="$line"$'\n'
  if [ "$crashes" -ne 0 ]; then
    status=1
    grep -E 'ERROR|runtime error|SUMMARY|fuzz:|internal error|Test unit written' "$log" | head -8
  fi
done
echo "== fuzz summary"
printf '%s' "$summary"
exit $status
