"""CompiledModel, compile() and load(): the Python face of include/kiln/kiln.h.

Everything here is argument checking and buffer passing; compiling and running happen in
libkiln.so (see _capi.py for how it is found and why calls release the GIL).
"""
from __future__ import annotations

import ctypes
import json
import os
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _capi

# kiln_dtype -> numpy dtype. bf16 has no numpy type: it is passed as its raw 16-bit
# pattern in uint16 arrays (as the CLI's .npy files do).
_DTYPES = {
    0: np.dtype(np.float32),   # KILN_DTYPE_F32
    1: np.dtype(np.float16),   # KILN_DTYPE_F16
    2: np.dtype(np.uint16),    # KILN_DTYPE_BF16 (raw bits)
    3: np.dtype(np.int8),      # KILN_DTYPE_I8
    4: np.dtype(np.uint8),     # KILN_DTYPE_U8
    5: np.dtype(np.int32),     # KILN_DTYPE_I32
    6: np.dtype(np.int64),     # KILN_DTYPE_I64
    7: np.dtype(np.bool_),     # KILN_DTYPE_BOOL
}

ModelSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Any]


class KilnError(RuntimeError):
    """A Kiln failure: the library's message (kiln_last_error()) or a bad call argument.

    Attributes:
        message: the message, e.g. ``"model.onnx: node 'conv1' (Conv): ..."``.
        status:  the C API's kiln_status name ("invalid", "unsupported", "limit", "nomem",
                 "io"), or None for errors found in Python (wrong input count, shape, dtype).
    """

    def __init__(self, message: str, status: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.status = status


def _check(status: int) -> None:
    """Raises KilnError with this thread's kiln_last_error() if status is not KILN_STATUS_OK.

    Called on the thread that made the failing call, right after it: the C library keeps
    the message per thread until that thread's next failing call."""
    if status != 0:
        msg = _capi.lib().kiln_last_error()
        text = msg.decode("utf-8", "replace") if msg else ""
        raise KilnError(text or f"kiln: call failed with status {status}",
                        _capi.STATUS_NAMES.get(status, str(status)))


@dataclass(frozen=True)
class TensorInfo:
    """One graph input or output of a compiled model.

    Attributes:
        name:   the ONNX graph input/output name.
        shape:  static shape (dynamic dims were fixed to 1 at compile time).
        dtype:  numpy dtype of the buffer (bf16 appears as uint16 raw bits).
        nbytes: size of the buffer in bytes.
    """
    name: str
    shape: Tuple[int, ...]
    dtype: np.dtype
    nbytes: int


def _tensor_info(raw: _capi.TensorInfo, what: str) -> TensorInfo:
    dtype = _DTYPES.get(raw.dtype)
    if dtype is None:
        raise KilnError(f"kiln: {what} has dtype code {raw.dtype}, unknown to this package")
    shape = tuple(int(raw.dims[i]) for i in range(raw.rank))
    info = TensorInfo(raw.name.decode("utf-8", "replace"), shape, dtype, int(raw.nbytes))
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != info.nbytes:
        raise KilnError(f"kiln: {what} '{info.name}': {shape} x {dtype} does not make "
                        f"{info.nbytes} bytes")
    return info


def _options(threads: int, target: Optional[str]) -> _capi.Options:
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
        raise KilnError(f"kiln: threads must be an int >= 0 (0 = one per core), got {threads!r}")
    if target is not None and not isinstance(target, str):
        raise KilnError(f"kiln: target must be a str or None, got {target!r}")
    return _capi.Options(threads, target.encode() if target is not None else None)


class CompiledModel:
    """A model compiled for this machine's CPU, ready to run on numpy arrays.

    Made by :func:`compile` or :func:`load`. Owns native memory and a thread pool: they
    are freed by :meth:`close`, at the end of a ``with`` block, or when the object is
    garbage-collected.

    Thread safety: any number of models may run at the same time from different Python
    threads (the GIL is released during every library call). Calls on one model from
    several threads are serialized.
    """

    def __init__(self, handle: ctypes.c_void_p, what: str):
        self._handle: Optional[ctypes.c_void_p] = handle
        self._what = what
        # Serializes calls on this model and keeps close() from freeing it mid-run.
        self._lock = threading.Lock()
        lib = _capi.lib()
        try:
            self.inputs: List[TensorInfo] = [
                self._info(lib.kiln_input_info, i, "input")
                for i in range(lib.kiln_num_inputs(handle))]
            self.outputs: List[TensorInfo] = [
                self._info(lib.kiln_output_info, i, "output")
                for i in range(lib.kiln_num_outputs(handle))]
        except BaseException:
            self.close()
            raise

    def _info(self, fn: Any, index: int, kind: str) -> TensorInfo:
        raw = _capi.TensorInfo()
        _check(fn(self._handle, index, ctypes.byref(raw)))
        return _tensor_info(raw, f"{self._what}: {kind} {index}")

    # ---- lifetime ----
    def close(self) -> None:
        """Frees the native model (idempotent). Any later call raises KilnError."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle:
            _capi.lib().kiln_model_free(handle)

    def __enter__(self) -> "CompiledModel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if getattr(self, "_handle", None) and hasattr(self, "_lock"):
                self.close()
        except Exception:  # interpreter shutdown: modules may already be gone
            pass

    def _live(self) -> ctypes.c_void_p:
        if not self._handle:
            raise KilnError(f"kiln: {self._what}: the model was closed")
        return self._handle

    def __repr__(self) -> str:
        def fmt(ts: Sequence[TensorInfo]) -> str:
            return ", ".join(f"{t.name}: {t.dtype}{list(t.shape)}" for t in ts)
        state = "" if self._handle else " (closed)"
        return f"<kiln.CompiledModel {self._what}{state} ({fmt(self.inputs)}) -> ({fmt(self.outputs)})>"

    @property
    def threads(self) -> int:
        """Worker threads of the model's pool (the threads option; 0 resolves to the cores)."""
        with self._lock:
            return int(_capi.lib().kiln_threads(self._live()))

    # ---- running ----
    def _arrange(self, arrays: Sequence[Any], named: Mapping[str, Any]) -> List[np.ndarray]:
        """Orders and checks the inputs: exact dtype and shape, C-contiguous (a copy only
        when the array is not already C-contiguous). Never casts dtypes."""
        n = len(self.inputs)
        names = [t.name for t in self.inputs]
        if len(arrays) > n:
            raise KilnError(f"kiln: {self._what}: expected {n} input(s) "
                            f"({', '.join(names)}), got {len(arrays)} positional")
        slots: List[Any] = list(arrays) + [None] * (n - len(arrays))
        for key, value in named.items():
            if key not in names:
                raise KilnError(f"kiln: {self._what}: no input named '{key}' "
                                f"(inputs: {', '.join(names)})")
            i = names.index(key)
            if i < len(arrays):
                raise KilnError(f"kiln: {self._what}: input '{key}' given both by "
                                "position and by name")
            slots[i] = value
        missing = [names[i] for i in range(n) if slots[i] is None]
        if missing:
            raise KilnError(f"kiln: {self._what}: expected {n} input(s), missing "
                            f"{', '.join(missing)}")
        out = []
        for info, value in zip(self.inputs, slots):
            arr = np.asarray(value)
            if arr.dtype != info.dtype:
                raise KilnError(f"kiln: {self._what}: input '{info.name}' must be "
                                f"{info.dtype}, got {arr.dtype} (Kiln does not cast)")
            if arr.shape != info.shape:
                raise KilnError(f"kiln: {self._what}: input '{info.name}' must have shape "
                                f"{list(info.shape)}, got {list(arr.shape)}")
            out.append(np.ascontiguousarray(arr))
        return out

    def run(self, inputs: Union[Sequence[Any], Mapping[str, Any]]) -> List[np.ndarray]:
        """Runs the model. ``inputs``: a list in graph order or a dict name -> array.

        Returns one new numpy array per graph output, in graph order (always a list, as
        ONNX Runtime's ``InferenceSession.run`` does). Inputs are passed to the library
        without a copy when already C-contiguous; outputs are written by the library
        straight into the returned arrays."""
        if isinstance(inputs, Mapping):
            return self(**inputs)
        return self(*inputs)

    def __call__(self, *arrays: Any, **named: Any) -> List[np.ndarray]:
        """``model(x)``, ``model(x, y)`` or ``model(input_name=x)``: see :meth:`run`.

        Raises KilnError on a wrong count, name, dtype or shape of inputs, or if the run
        fails."""
        ins = self._arrange(arrays, named)
        outs = [np.empty(t.shape, t.dtype) for t in self.outputs]
        in_ptrs = (ctypes.c_void_p * max(len(ins), 1))(*[a.ctypes.data for a in ins])
        out_ptrs = (ctypes.c_void_p * max(len(outs), 1))(*[a.ctypes.data for a in outs])
        with self._lock:
            _check(_capi.lib().kiln_run(self._live(), in_ptrs, out_ptrs))
        return outs

    # ---- artifacts and reports ----
    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the compiled model as a .kiln file, loadable with :func:`load`."""
        with self._lock:
            _check(_capi.lib().kiln_save(self._live(), os.fsencode(path)))

    def _json(self, call: Any) -> Dict[str, Any]:
        lib = _capi.lib()
        text = ctypes.c_void_p()
        with self._lock:
            _check(call(self._live(), ctypes.byref(text)))
        try:
            return json.loads(ctypes.string_at(text).decode("utf-8"))
        finally:
            lib.kiln_free(text)

    def report(self) -> Dict[str, Any]:
        """The dispatch report (what ``kiln report --json`` prints) as a dict."""
        return self._json(_capi.lib().kiln_report_json)

    def bench(self, iterations: int = 20) -> Dict[str, Any]:
        """Benchmarks the model on internal inputs (``kiln bench --json``): warm-up runs,
        then ``iterations`` timed runs. Returns a dict with median_ms, min_ms, max_ms and
        per-dispatch medians."""
        if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 1:
            raise KilnError(f"kiln: iterations must be an int >= 1, got {iterations!r}")
        return self._json(lambda h, out: _capi.lib().kiln_bench_json(h, iterations, out))


def _model_bytes(model: Any) -> Optional[Tuple[bytes, str]]:
    """(bytes, name for messages) for in-memory models, None for paths."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "<bytes>"
    if hasattr(model, "SerializeToString") and hasattr(model, "graph"):  # onnx.ModelProto
        name = getattr(model.graph, "name", "") or "model"
        return model.SerializeToString(), f"<onnx.ModelProto {name}>"
    return None


def compile(model: ModelSource, target: Optional[str] = None, threads: int = 0) -> CompiledModel:
    """Compiles an ONNX model for this machine's CPU.

    Args:
        model:   a path (str or os.PathLike) to an .onnx file (or Kiln MLIR text, by the
                 .mlir extension), the bytes of an ONNX model, or an ``onnx.ModelProto``.
        target:  pad-to-intrinsic target name, or None (none).
        threads: worker threads of the model's pool; 0 = one per core.

    Raises:
        KilnError: the model cannot be read, parsed or compiled (the message names the
                   file, node and what is wrong).
        TypeError: ``model`` is none of the above.
    """
    opts = _options(threads, target)
    handle = ctypes.c_void_p()
    lib = _capi.lib()
    mem = _model_bytes(model)
    if mem is not None:
        data, what = mem
        _check(lib.kiln_compile_memory(data, len(data), what.encode(), ctypes.byref(opts),
                                       ctypes.byref(handle)))
    elif isinstance(model, (str, os.PathLike)):
        what = os.fspath(model)
        _check(lib.kiln_compile_file(os.fsencode(model), ctypes.byref(opts),
                                     ctypes.byref(handle)))
    else:
        raise TypeError("kiln.compile: model must be a path, bytes or an onnx.ModelProto, "
                        f"not {type(model).__name__}")
    return CompiledModel(handle, str(what))


def load(path: Union[str, "os.PathLike[str]"], threads: int = 0) -> CompiledModel:
    """Loads a .kiln file written by :meth:`CompiledModel.save` (no ONNX import or
    optimization runs). ``threads``: as for :func:`compile`."""
    opts = _options(threads, None)
    handle = ctypes.c_void_p()
    _check(_capi.lib().kiln_load(os.fsencode(path), ctypes.byref(opts), ctypes.byref(handle)))
    return CompiledModel(handle, os.fspath(path))


def library_version() -> str:
    """The version string of the loaded libkiln.so (kiln_version())."""
    return _capi.lib().kiln_version().decode()
