// Guards: ops that do nothing (zero pad, full unit-step slice, reshape to the same type,
// copy generic) disappear, and a reshape chain becomes one reshape of the source.
// RUN: %kiln compile %s --passes=canonicalize,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.pad"
// CHECK-NOT: "kiln.extract_slice"
// CHECK-NOT: "kiln.generic"
// CHECK: %[[R:.*]] = "kiln.reshape"(%arg0)
// CHECK-NOT: "kiln.reshape"
// CHECK: return %[[R]]
module {
  func.func @main(%arg0: tensor<2x6xf32> {kiln.name = "x"}) -> (tensor<12xf32> {kiln.name = "y"}) {
    %0 = "kiln.pad"(%arg0) {kiln.name = "p", pad_lo = array<i64: 0, 0>, pad_hi = array<i64: 0, 0>, pad_mode = "constant", pad_value = 0.0 : f64} : (tensor<2x6xf32>) -> tensor<2x6xf32>
    %1 = "kiln.extract_slice"(%0) {kiln.name = "s", offsets = array<i64: 0, 0>, steps = array<i64: 1, 1>} : (tensor<2x6xf32>) -> tensor<2x6xf32>
    %2 = "kiln.generic"(%1) ({
    ^bb0(%a: f32, %o: f32):
      "kiln.yield"(%a) : (f32) -> ()
    }) {kiln.name = "copy", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<2x6xf32>) -> tensor<2x6xf32>
    %3 = "kiln.reshape"(%2) {kiln.name = "r1"} : (tensor<2x6xf32>) -> tensor<3x4xf32>
    %4 = "kiln.reshape"(%3) {kiln.name = "r2"} : (tensor<3x4xf32>) -> tensor<12xf32>
    return %4 : tensor<12xf32>
  }
}
