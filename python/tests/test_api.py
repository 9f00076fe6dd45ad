"""The kiln package API on tiny models built in conftest.py: model sources, input and
output info, call forms, every error path (KilnError with the library's message),
save/load, close, threads option, report and bench."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

import kiln
from conftest import ort_run, oracle


def test_version():
    assert kiln.__version__ == "0.1.0"
    assert kiln.library_version() == "0.1.0"
    assert kiln.library_path().is_file()


# ---- sources: path, PathLike, bytes, ModelProto ----

def test_sources_agree(conv_model, tmp_path):
    path = tmp_path / "conv.onnx"
    path.write_bytes(conv_model.SerializeToString())
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32)
    results = []
    for src in (str(path), path, path.read_bytes(), bytearray(path.read_bytes()), conv_model):
        with kiln.compile(src) as m:
            results.append(m(x)[0])
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    want = ort_run(path, {"x": x})["y"]
    assert oracle().compare("y", results[0], want)


def test_info(two_io_model, gather_model):
    with kiln.compile(two_io_model) as m:
        assert [t.name for t in m.inputs] == ["a", "b"]
        assert [t.name for t in m.outputs] == ["sum", "prod"]
        for t in m.inputs + m.outputs:
            assert t.shape == (2, 3) and t.dtype == np.float32 and t.nbytes == 24
        assert "two_io" in repr(m) and "a: float32[2, 3]" in repr(m)
    with kiln.compile(gather_model) as m:
        assert m.inputs[0] == kiln.TensorInfo("idx", (3,), np.dtype(np.int64), 24)
        assert m.outputs[0].shape == (3, 2) and m.outputs[0].dtype == np.float32


def test_call_forms(two_io_model):
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-1, 1, (2, 3)).astype(np.float32) for _ in range(2))
    with kiln.compile(two_io_model) as m:
        for outs in (m(a, b), m(a=a, b=b), m(b=b, a=a), m(a, b=b), m.run([a, b]),
                     m.run({"a": a, "b": b})):
            assert isinstance(outs, list) and len(outs) == 2
            np.testing.assert_allclose(outs[0], a + b, rtol=1e-6)
            np.testing.assert_allclose(outs[1], a * b, rtol=1e-6)
        # Non-contiguous inputs are made C-contiguous (values, not memory, matter).
        at = np.asfortranarray(a)
        bt = np.ascontiguousarray(b.T).T  # a transposed view, shape (2, 3)
        s, p = m(at, bt)
        np.testing.assert_allclose(s, a + b, rtol=1e-6)
        np.testing.assert_allclose(p, a * b, rtol=1e-6)


def test_integer_input(gather_model):
    with kiln.compile(gather_model) as m:
        (rows,) = m(np.array([4, 0, 2], np.int64))
    np.testing.assert_array_equal(rows, np.arange(10, dtype=np.float32).reshape(5, 2)[[4, 0, 2]])


# ---- errors: each raises KilnError with a message that says what is wrong ----

def raises(match):
    return pytest.raises(kiln.KilnError, match=match)


def test_error_missing_file(tmp_path):
    path = tmp_path / "no_such_model.onnx"
    with raises("no_such_model.onnx") as e:
        kiln.compile(path)
    assert e.value.status in ("io", "invalid") and e.value.message == str(e.value)


def test_error_garbage_bytes(tmp_path):
    garbage = np.random.default_rng(3).integers(0, 256, 1000, dtype=np.uint8).tobytes()
    with raises("not a valid ONNX model") as e:
        kiln.compile(garbage)
    assert e.value.status == "invalid"
    with raises("."):
        kiln.compile(b"")
    path = tmp_path / "garbage.onnx"
    path.write_bytes(garbage)
    with raises("not a valid ONNX model"):
        kiln.compile(path)


def test_error_unsupported_op(unsupported_model):
    with raises("Sin") as e:
        kiln.compile(unsupported_model)
    assert e.value.status == "unsupported"


def test_error_bad_arguments(conv_model):
    with pytest.raises(TypeError, match="path, bytes or an onnx.ModelProto"):
        kiln.compile(42)
    with raises("threads must be"):
        kiln.compile(conv_model, threads=-1)
    with raises("target must be"):
        kiln.compile(conv_model, target=3)


def test_error_inputs(two_io_model):
    a = np.zeros((2, 3), np.float32)
    with kiln.compile(two_io_model) as m:
        with raises(r"expected 2 input\(s\), missing b"):
            m(a)
        with raises(r"expected 2 input\(s\) \(a, b\), got 3 positional"):
            m(a, a, a)
        with raises("no input named 'c'"):
            m(a, c=a)
        with raises("'a' given both by position and by name"):
            m(a, a=a)
        with raises(r"input 'b' must be float32, got float64 \(Kiln does not cast\)"):
            m(a, np.zeros((2, 3)))
        with raises(r"input 'a' must have shape \[2, 3\], got \[3, 2\]"):
            m(np.zeros((3, 2), np.float32), a)
        with raises(r"input 'a' must have shape \[2, 3\], got \[1, 2, 3\]"):
            m(a[None], a)
        with raises("must be float32, got >f4"):
            m(a.astype(">f4"), a)


def test_error_closed(two_io_model):
    m = kiln.compile(two_io_model)
    m.close()
    m.close()  # idempotent
    a = np.zeros((2, 3), np.float32)
    for call in (lambda: m(a, a), m.report, m.bench, lambda: m.save("x.kiln"),
                 lambda: m.threads):
        with raises("the model was closed"):
            call()
    assert "(closed)" in repr(m)


def test_error_bad_kiln_files(conv_model, tmp_path):
    good = tmp_path / "good.kiln"
    with kiln.compile(conv_model) as m:
        m.save(good)
    data = good.read_bytes()
    cases = {
        "missing.kiln": None,
        "empty.kiln": b"",
        "truncated.kiln": data[: len(data) // 2],
        "header.kiln": data[:16],
        "garbage.kiln": np.random.default_rng(5).integers(0, 256, len(data), np.uint8).tobytes(),
        "onnx.kiln": conv_model.SerializeToString(),
        "bad_magic.kiln": b"XXXX" + data[4:],
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with raises(name) as e:
            kiln.load(path)
        assert e.value.status in ("invalid", "io", "limit"), (name, e.value.status)


def test_error_save_unwritable(conv_model, tmp_path):
    with kiln.compile(conv_model) as m:
        with raises("no_such_dir") as e:
            m.save(tmp_path / "no_such_dir" / "m.kiln")
    assert e.value.status == "io"


def test_errors_are_per_thread(unsupported_model, two_io_model):
    """A failure on one thread does not change another thread's message."""
    with raises("Sin"):
        kiln.compile(unsupported_model)
    caught = []

    def other():
        try:
            kiln.compile(b"not a model")
        except kiln.KilnError as e:
            caught.append(e.message)
    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert caught and "Sin" not in caught[0]
    with raises("Sin"):
        kiln.compile(unsupported_model)


# ---- save / load, threads, report, bench ----

def test_save_load(conv_model, tmp_path):
    x = np.random.default_rng(2).uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32)
    path = tmp_path / "conv.kiln"
    with kiln.compile(conv_model) as m:
        want = m(x)[0]
        m.save(path)
        m.save(str(tmp_path / "conv2.kiln"))
        info = (m.inputs, m.outputs)
    assert path.stat().st_size > 0
    for threads in (0, 1, 2):
        with kiln.load(path, threads=threads) as m2:
            assert (m2.inputs, m2.outputs) == info
            np.testing.assert_array_equal(m2(x)[0], want)
            if threads:
                assert m2.threads == threads


def test_threads_option(conv_model):
    x = np.random.default_rng(4).uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32)
    outs = {}
    for threads in (1, 2, 0):
        with kiln.compile(conv_model, threads=threads) as m:
            if threads:
                assert m.threads == threads
            else:
                assert m.threads >= 1
            outs[threads] = m(x)[0]
    for r in outs.values():
        np.testing.assert_allclose(r, outs[1], rtol=1e-6, atol=1e-6)


def test_target_option(conv_model):
    """A pad-to-intrinsic target changes the compiled code, not the results; an unknown
    one is an error that lists the known targets."""
    x = np.random.default_rng(6).uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32)
    with kiln.compile(conv_model) as m:
        want = m(x)[0]
    for target in ("x86-avx2", "x86-avx512", "npu-4x4x8-c4"):
        with kiln.compile(conv_model, target=target) as m:
            np.testing.assert_allclose(m(x)[0], want, rtol=1e-5, atol=1e-6)
    with raises("no-such-target") as e:
        kiln.compile(conv_model, target="no-such-target")
    assert "x86-avx2" in e.value.message


def test_report_and_bench(conv_model):
    with kiln.compile(conv_model) as m:
        report = m.report()
        assert isinstance(report, dict) and report
        bench = m.bench(iterations=3)
        assert isinstance(bench, dict)
        for key in ("median_ms", "min_ms", "max_ms"):
            assert bench[key] >= 0
        assert bench["min_ms"] <= bench["median_ms"] <= bench["max_ms"]
        with raises("iterations must be"):
            m.bench(iterations=0)


def test_gc_frees(conv_model):
    """Dropping models without close() frees them (no crash, no leak of handles)."""
    for _ in range(5):
        m = kiln.compile(conv_model)
        del m
