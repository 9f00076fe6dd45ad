// Guards: two identical elementwise ops on the same operand merge into one, and two
// constants with equal bytes merge even when their names differ; an op with a different
// body (mul vs add) must NOT merge.
// RUN: %kiln compile %s --passes=cse,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-COUNT-1: "kiln.constant"
// CHECK: arith.addf
// CHECK-NOT: arith.addf
// CHECK: arith.mulf
// CHECK-NOT: "kiln.constant"
// CHECK: return
module {
  func.func @main(%arg0: tensor<4xf32> {kiln.name = "x"}) -> (tensor<4xf32> {kiln.name = "y"}, tensor<4xf32> {kiln.name = "z"}, tensor<4xf32> {kiln.name = "w"}) {
    %c1 = "kiln.constant"() {value = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>, kiln.name = "c1"} : () -> tensor<4xf32>
    %c2 = "kiln.constant"() {value = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>, kiln.name = "c2"} : () -> tensor<4xf32>
    %0 = "kiln.generic"(%arg0, %c1) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.addf %a, %b : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "add1", indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %1 = "kiln.generic"(%arg0, %c2) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.addf %a, %b : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "add2", indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %2 = "kiln.generic"(%arg0, %c2) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.mulf %a, %b : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "mul", indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    return %0, %1, %2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  }
}
