"""ctypes declarations of Kiln's C API (include/kiln/kiln.h) and the loading of libkiln.so.

The library is looked up, in order:
  1. the file named by the environment variable KILN_LIBRARY (a build tree's
     build/libkiln.so: how CI runs python/tests without installing the package);
  2. libkiln.so next to this module (where `pip install ./python` puts it).

It is loaded with ctypes.CDLL, not ctypes.PyDLL: a CDLL foreign call releases the GIL for
its whole duration, so kiln_run / kiln_compile_* / kiln_bench_json on one model do not
block other Python threads (and two models run in parallel from two threads).
"""
from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

KILN_MAX_DIMS = 8

# kiln_status values -> names (for KilnError.status).
STATUS_NAMES = {0: "ok", 1: "invalid", 2: "unsupported", 3: "limit", 4: "nomem", 5: "io"}


class TensorInfo(ctypes.Structure):
    """struct kiln_tensor_info."""
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_int),
        ("rank", ctypes.c_int),
        ("dims", ctypes.c_int64 * KILN_MAX_DIMS),
        ("nbytes", ctypes.c_size_t),
    ]


class Options(ctypes.Structure):
    """struct kiln_options."""
    _fields_ = [("threads", ctypes.c_int), ("target", ctypes.c_char_p)]


_P = ctypes.c_void_p            # kiln_model *
_PP = ctypes.POINTER(_P)        # kiln_model **
_STATUS = ctypes.c_int          # kiln_status
_OPTS = ctypes.POINTER(Options)
_CHARPP = ctypes.POINTER(ctypes.c_void_p)  # char ** (kept as void* so kiln_free gets it back)

# name -> (restype, argtypes): one line per function of kiln.h.
_PROTOTYPES = {
    "kiln_last_error": (ctypes.c_char_p, []),
    "kiln_version": (ctypes.c_char_p, []),
    "kiln_compile_file": (_STATUS, [ctypes.c_char_p, _OPTS, _PP]),
    "kiln_compile_memory": (_STATUS, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
                                      _OPTS, _PP]),
    "kiln_save": (_STATUS, [_P, ctypes.c_char_p]),
    "kiln_load": (_STATUS, [ctypes.c_char_p, _OPTS, _PP]),
    "kiln_model_free": (None, [_P]),
    "kiln_num_inputs": (ctypes.c_int, [_P]),
    "kiln_num_outputs": (ctypes.c_int, [_P]),
    "kiln_input_info": (_STATUS, [_P, ctypes.c_int, ctypes.POINTER(TensorInfo)]),
    "kiln_output_info": (_STATUS, [_P, ctypes.c_int, ctypes.POINTER(TensorInfo)]),
    "kiln_threads": (ctypes.c_size_t, [_P]),
    "kiln_run": (_STATUS, [_P, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)]),
    "kiln_report_json": (_STATUS, [_P, _CHARPP]),
    "kiln_bench_json": (_STATUS, [_P, ctypes.c_int, _CHARPP]),
    "kiln_free": (None, [ctypes.c_void_p]),
}

_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def library_path() -> Path:
    """The libkiln.so this package uses (KILN_LIBRARY, else the one installed beside it)."""
    env = os.environ.get("KILN_LIBRARY")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "libkiln.so"


def lib() -> ctypes.CDLL:
    """The loaded library with every prototype declared (loaded on first use)."""
    global _lib
    with _lib_lock:
        if _lib is None:
            path = library_path()
            if not path.is_file():
                how = ("KILN_LIBRARY names a file that does not exist"
                       if os.environ.get("KILN_LIBRARY") else
                       "the package was not built; install it with `pip install ./python`, "
                       "or set KILN_LIBRARY to a build tree's libkiln.so")
                raise OSError(f"kiln: cannot find the Kiln library {path}: {how}")
            dll = ctypes.CDLL(str(path))
            for name, (restype, argtypes) in _PROTOTYPES.items():
                try:
                    fn = getattr(dll, name)
                except AttributeError:
                    raise OSError(f"kiln: {path} has no function {name}: it was built "
                                  "from an older Kiln than this package") from None
                fn.restype = restype
                fn.argtypes = argtypes
            _lib = dll
        return _lib
