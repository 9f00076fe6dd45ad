"""Kiln: compile ONNX CNNs ahead of time for this machine's CPU and run them on numpy arrays.

    import kiln, numpy as np
    model = kiln.compile("model.onnx", threads=0)     # path, bytes or onnx.ModelProto
    print(model.inputs, model.outputs)                # names, shapes, numpy dtypes
    (y,) = model(np.zeros(model.inputs[0].shape, np.float32))  # list of outputs
    model.save("model.kiln"); again = kiln.load("model.kiln")
    model.report(); model.bench(iterations=20)        # dicts

A thin ctypes binding of the C API (include/kiln/kiln.h) in libkiln.so; every call
releases the GIL. Errors raise :class:`KilnError` with the library's message.
"""
from ._capi import library_path
from ._model import CompiledModel, KilnError, TensorInfo, compile, library_version, load

__version__ = "0.1.0"
__all__ = ["compile", "load", "CompiledModel", "TensorInfo", "KilnError", "library_version",
           "library_path", "__version__"]
