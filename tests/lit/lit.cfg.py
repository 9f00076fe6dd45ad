# lit configuration for Kiln's pass tests: each tests/lit/<pass>/<case>.mlir holds input
# IR, RUN lines and FileCheck CHECK lines. %kiln is the kiln binary under test (passed by
# ctest as --param kiln=...). Every RUN of a pass also uses --verify-each, so each case is
# checked numerically by the reference interpreter, not only textually.
import os
import shutil

import lit.formats

config.name = "kiln"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["lit.cfg.py"]

kiln = lit_config.params.get("kiln")
if not kiln:
    lit_config.fatal("pass --param kiln=/path/to/kiln")
filecheck = lit_config.params.get("filecheck") or shutil.which("FileCheck-16") or shutil.which("FileCheck")
if not filecheck:
    lit_config.fatal("FileCheck not found (Debian package llvm-16-tools)")
config.substitutions.append(("%kiln", kiln))
config.substitutions.append(("FileCheck", filecheck))
# `REQUIRES: mlir-opt` tests check that --emit-mlir=mlir16 output parses upstream.
mlir_opt = shutil.which("mlir-opt-16")
if mlir_opt:
    config.available_features.add("mlir-opt")
    config.substitutions.append(("%mlir-opt", mlir_opt))
notbin = shutil.which("not") or "/usr/lib/llvm-16/bin/not"
config.substitutions.append(("not ", notbin + " "))
