// --emit-mlir=mlir16 spells the result the way MLIR 16 does (arith.maxf, expand_shape
// without output_shape) with flow.dispatch.region / flow.return and Kiln-only ops in
// generic op form: mlir-opt-16 --allow-unregistered-dialect parses and verifies it (flow
// and kiln are not registered there; their pretty forms would not parse). Kiln reads it
// back.
// REQUIRES: mlir-opt
// RUN: %kiln compile %S/all_ops.mlir --form-dispatches --emit-mlir=mlir16 --emit-resources > %t.mlir
// RUN: %mlir-opt --allow-unregistered-dialect %t.mlir | FileCheck %s
// RUN: %kiln compile %S/all_ops.mlir --emit-mlir=mlir16 | %mlir-opt --allow-unregistered-dialect | FileCheck %s --check-prefix=NODISPATCH
// RUN: %kiln report %t.mlir | FileCheck %s --check-prefix=REPORT
// CHECK: "flow.dispatch.region"() ({
// CHECK: linalg.
// CHECK: "flow.return"
// NODISPATCH-NOT: flow.
// NODISPATCH: linalg.
// REPORT: dispatches:
module {
  func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32> {
    return %arg0 : tensor<4xf32>
  }
}
