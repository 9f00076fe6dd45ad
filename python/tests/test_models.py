"""The quick suite models through the package: outputs against ONNX Runtime with
tests/models/oracle.py's inputs and tolerances, save/load of a real model, the threads
option, and two models running in two Python threads at once."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import kiln
from conftest import QUICK_MODELS, oracle, ort_run, suite_model


def inputs_for(path):
    """oracle.py's fixed random inputs (seed 7) for the model at path."""
    onnx = pytest.importorskip("onnx")
    return oracle().make_inputs(onnx.load(str(path), load_external_data=False))


@pytest.mark.parametrize("name", QUICK_MODELS)
def test_matches_onnxruntime(name):
    path = suite_model(name)
    onnx = pytest.importorskip("onnx")
    orc = oracle()
    proto = onnx.load(str(path), load_external_data=False)
    feeds = orc.make_inputs(proto)
    want = ort_run(path, feeds)
    with kiln.compile(path) as m:
        assert [t.name for t in m.inputs] == list(feeds)
        assert [t.name for t in m.outputs] == list(want)
        got = m(**feeds)
    assert len(got) == len(want)
    ok = True
    for g, (out_name, w) in zip(got, want.items()):
        ok &= orc.compare(out_name, g, w, orc.dequant_scale(proto, out_name))
    assert ok, f"{name}: Kiln's outputs differ from ONNX Runtime beyond oracle.py's tolerances"


def test_save_load_suite_model(tmp_path):
    path = suite_model("deeplabv3_mobilenet_v2_small_tf")
    feeds = inputs_for(path)
    with kiln.compile(path) as m:
        want = m(**feeds)
        m.save(tmp_path / "m.kiln")
        report = m.report()
    with kiln.load(tmp_path / "m.kiln", threads=1) as m2:
        got = m2(**feeds)
        assert m2.report() == report
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_threads_suite_model():
    path = suite_model("mobilenet_v2")
    feeds = inputs_for(path)
    orc = oracle()
    results = {}
    for threads in (1, 2):
        with kiln.compile(path, threads=threads) as m:
            assert m.threads == threads
            results[threads] = m(**feeds)
    for a, b in zip(results[1], results[2]):
        assert orc.compare("threads=2 vs threads=1", b, a)


def _run_in_threads(jobs):
    """Runs each job(i) in its own thread, all started together; returns their results."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)
    errors = []

    def work(i):
        try:
            barrier.wait()
            results[i] = jobs[i]()
        except BaseException as e:  # re-raised below, in the test's thread
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_two_models_two_threads():
    """Two different models, each run repeatedly in its own Python thread at the same
    time, give exactly what they give when run one after the other."""
    paths = [suite_model("mobilenet_v2"), suite_model("deeplabv3_mobilenet_v2_small")]
    feeds = [inputs_for(p) for p in paths]
    models = [kiln.compile(p, threads=1) for p in paths]
    try:
        sequential = [m(**f) for m, f in zip(models, feeds)]
        reps = 4
        jobs = [lambda m=m, f=f: [m(**f) for _ in range(reps)] for m, f in zip(models, feeds)]
        concurrent = _run_in_threads(jobs)
        for seq, runs in zip(sequential, concurrent):
            for outs in runs:
                for a, b in zip(outs, seq):
                    np.testing.assert_array_equal(a, b)
    finally:
        for m in models:
            m.close()


def test_one_model_two_threads():
    """One model called from two threads at once: the calls are serialized, results
    unchanged."""
    path = suite_model("mobilenet_v2")
    feeds = inputs_for(path)
    with kiln.compile(path, threads=2) as m:
        want = m(**feeds)
        runs = _run_in_threads([lambda: [m(**feeds) for _ in range(3)]] * 2)
    for outs_list in runs:
        for outs in outs_list:
            for a, b in zip(outs, want):
                np.testing.assert_array_equal(a, b)


def test_compile_in_threads():
    """Compiling two models at once from two threads (compile releases the GIL too)."""
    paths = [suite_model("mobilenet_v2"), suite_model("deeplabv3_mobilenet_v2_small")]
    models = _run_in_threads([lambda p=p: kiln.compile(p) for p in paths])
    try:
        assert all(m.outputs for m in models)
    finally:
        for m in models:
            m.close()


def test_gil_released_while_running():
    """While one thread is inside a long library call, another Python thread keeps
    running: the call released the GIL (ctypes.CDLL, not PyDLL)."""
    import ctypes
    import time
    from kiln import _capi
    assert not isinstance(_capi.lib(), ctypes.PyDLL)
    path = suite_model("resnet50")
    with kiln.compile(path, threads=1) as m:
        t0 = time.perf_counter()
        m.bench(iterations=1)
        one = time.perf_counter() - t0  # warm-up runs + 1 timed run
        iterations = max(1, int(1.0 / max(one / 4, 1e-3)))  # about a second in C
        done = threading.Event()
        worker = threading.Thread(target=lambda: (m.bench(iterations=iterations), done.set()))
        gaps, last = [], time.perf_counter()
        start = last
        worker.start()
        while not done.is_set():
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
        worker.join()
        total = time.perf_counter() - start
    # Holding the GIL would stall this loop for the whole call (one gap ~ total).
    assert total > 0.2 and max(gaps) < 0.5 * total, (total, max(gaps))
