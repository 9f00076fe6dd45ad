"""Shared fixtures of the kiln package tests.

Two ways to run them (from the repository root):
  python -m pytest python/tests                      # against the installed package
  KILN_LIBRARY=build/libkiln.so python -m pytest python/tests
                                                     # against a build tree, no install:
                                                     # the package is imported from python/

Suite models (the quick ones of the CMake build) come from KILN_MODEL_DIR, default
build/models under the repository root; tests that need one skip when it is missing.
ONNX Runtime (the oracle) and onnx come from the test venv (scripts/requirements.txt).
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

if os.environ.get("KILN_LIBRARY"):
    # Use this checkout's package with the build tree's library, even if another kiln is
    # installed.
    sys.path.insert(0, str(REPO / "python"))

# The quick suite models (KILN_QUICK_MODELS in CMakeLists.txt).
QUICK_MODELS = ["mobilenet_v2", "resnet50", "efficientnet_b0", "deeplabv3_mobilenet_v2_small",
                "deeplabv3_mobilenet_v2_small_tf", "deeplabv3_mobilenet_v2_small_tf_int8"]


def model_dir() -> Path:
    return Path(os.environ.get("KILN_MODEL_DIR") or REPO / "build" / "models")


def suite_model(name: str) -> Path:
    """Path of a suite model, or skip the test with the reason."""
    path = model_dir() / f"{name}.onnx"
    if not path.is_file():
        pytest.skip(f"suite model {path} is missing: generate it with `cmake --build build "
                    "--target models` (needs -DKILN_PYTHON) or set KILN_MODEL_DIR")
    return path


def oracle():
    """tests/models/oracle.py as a module: make_inputs, compare, dequant_scale and the
    tolerances (fp32 rel L2 1e-5, max abs 1e-3 of range; int8 one quantization step)."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    spec = importlib.util.spec_from_file_location("kiln_oracle", REPO / "tests/models/oracle.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ort_run(path_or_bytes, feeds):
    """ONNX Runtime's outputs {name: array}, with oracle.py's session options (graph
    optimizations off for float models, on for QDQ models: ORT's int8 execution)."""
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    src = str(path_or_bytes) if isinstance(path_or_bytes, Path) else path_or_bytes
    model = onnx.load(src, load_external_data=False) if isinstance(src, str) else onnx.load_from_string(src)
    opts = oracle().ort_options(model)
    sess = ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


# ---- tiny models built with onnx.helper: fast to compile, for the API and error tests ----

def _onnx_model(nodes, inputs, outputs, inits=(), name="tiny"):
    onnx = pytest.importorskip("onnx")
    from onnx import helper
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


@pytest.fixture(scope="session")
def conv_model():
    """x f32[1,3,8,8] -> Conv(4 filters, 3x3, pad 1) + bias -> Relu -> y f32[1,4,8,8]."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.uniform(-1, 1, (4, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.uniform(-1, 1, (4,)).astype(np.float32), "b")
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    return _onnx_model(nodes,
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
                       [w, b], name="conv_relu")


@pytest.fixture(scope="session")
def two_io_model():
    """a, b f32[2,3] -> sum = a + b, prod = a * b (two inputs, two outputs)."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    f = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3])  # noqa: E731
    nodes = [helper.make_node("Add", ["a", "b"], ["sum"], name="add"),
             helper.make_node("Mul", ["a", "b"], ["prod"], name="mul")]
    return _onnx_model(nodes, [f("a"), f("b")], [f("sum"), f("prod")], name="two_io")


@pytest.fixture(scope="session")
def gather_model():
    """idx i64[3] -> Gather(table f32[5,2], idx) -> rows f32[3,2] (an integer input)."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    table = numpy_helper.from_array(np.arange(10, dtype=np.float32).reshape(5, 2), "table")
    nodes = [helper.make_node("Gather", ["table", "idx"], ["rows"], axis=0, name="gather")]
    return _onnx_model(nodes, [helper.make_tensor_value_info("idx", TensorProto.INT64, [3])],
                       [helper.make_tensor_value_info("rows", TensorProto.FLOAT, [3, 2])],
                       [table], name="gather")


@pytest.fixture(scope="session")
def unsupported_model():
    """x f32[4] -> Sin -> y: an op Kiln does not support."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    nodes = [helper.make_node("Sin", ["x"], ["y"], name="the_sine")]
    return _onnx_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
                       name="unsupported")


@pytest.fixture(scope="session")
def kiln():
    """The kiln package (installed, or python/ with KILN_LIBRARY)."""
    import kiln as k
    return k


def pytest_report_header(config):
    import kiln as k
    return [f"kiln package: {Path(k.__file__).parent}", f"kiln library: {k.library_path()}",
            f"suite models: {model_dir()}"]
