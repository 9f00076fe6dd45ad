#!/usr/bin/env bash
# Command 2 of the README (and .ci/run): install dependencies, build a Release tree and a
# Debug tree with ASan+UBSan, run the whole ctest suite in both. Ends with one line
# "N passed, N failed" over both runs.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh || exit 1
py="$root/.venv/bin/python"
jobs=${KILN_JOBS:-2}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_PYTHON="$py" >/dev/null || exit 1
cmake --build build -j"$jobs" || exit 1
cmake --build build --target models || exit 1
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=ON \
  -DKILN_PYTHON="$py" -DKILN_MODEL_DIR="$root/build/models" >/dev/null || exit 1
cmake --build build-asan -j"$jobs" || exit 1

passed=0; failed=0
run_ctest() {  # $1 build dir, rest: ctest args
  local dir=$1; shift
  echo "== ctest in $dir $*"
  local log; log=$(mktemp)
  (cd "$dir" && ctest --output-on-failure -j"$jobs" "$@") 2>&1 | tee "$log"
  local p f
  p=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2 \1/p' "$log" | tail -1)
  if [ -z "$p" ]; then failed=$((failed + 1)); rm -f "$log"; return; fi
  set -- $p
  passed=$((passed + $1 - $2)); failed=$((failed + $2))
  rm -f "$log"
}
# model-long (kiln verify on the 513x513 models, minutes each) is left to a local run:
#   cd build && ctest -L model-long
run_ctest build -LE model-long
# The sanitizer tree skips the slow whole-model runs (label "model"), which the Release
# tree already runs; every unit, error and conformance test runs under ASan+UBSan.
ASAN_OPTIONS=detect_leaks=1 run_ctest build-asan -LE model
# Fuzz smoke: each libFuzzer target 20 s on its generated corpus (ASan+UBSan, clang).
echo "== bench/fuzz.sh all 20"
if bash bench/fuzz.sh all 20; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
