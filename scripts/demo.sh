#!/usr/bin/env bash
# Command 1 of the README: install dependencies, build Kiln, generate the model suite
# (PyTorch exports, random weights, fixed seed) and run the default model — DeepLabV3 with
# a MobileNetV2 backbone at 513x513 in its tf2onnx form — printing the start of its IR,
# the output summary and the dispatch report.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_PYTHON="$root/.venv/bin/python" >/dev/null
cmake --build build -j2
cmake --build build --target models
model=build/models/deeplabv3_mobilenet_v2_tf.onnx  # tf2onnx-style DeepLabV3-MobileNetV2, 513x513
mkdir -p build/demo
echo "== kiln print $model (first lines; all of it in build/demo/model.mlir)"
build/kiln print "$model" > build/demo/model.mlir
head -n 12 build/demo/model.mlir
echo "== kiln run $model --random-inputs 1"
build/kiln run "$model" --random-inputs 1 --output-dir build/demo
echo "== kiln report $model (last rows and totals; the graph is in build/demo/dispatches.svg)"
build/kiln report "$model" --graph=build/demo/dispatches.svg | tail -n 14
echo "== kiln compile $model -o build/demo/model.kiln, then kiln bench on it (2 threads)"
build/kiln compile "$model" -o build/demo/model.kiln
# (into a file first: a pipe into head would end kiln with SIGPIPE, and pipefail the demo)
build/kiln bench build/demo/model.kiln --threads 2 --iterations 10 --trace=build/demo/trace.json \
  > build/demo/bench.txt
head -n 12 build/demo/bench.txt
echo "(all dispatches: build/demo/bench.txt)"
echo "(per-dispatch Chrome trace of one run: build/demo/trace.json, open it in https://ui.perfetto.dev)"
