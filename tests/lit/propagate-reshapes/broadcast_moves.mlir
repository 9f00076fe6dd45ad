// Guards: a unit-dim reshape (1x5x6x8 -> 5x6x8) in front of a per-channel add and a
// 2-D (H,W) mask multiply must sink below both generics, and their broadcast operands
// must be re-indexed in the 4-D loop space: bias[c] from (d2) to (d3), mask[h,w] from
// (d0, d1) to (d1, d2), and a unit dim the old loops had ((0, d1) on a 1x6 operand)
// stays a constant. The reshape ends up once, in front of the return.
// RUN: %kiln compile %s --passes=propagate-reshapes,canonicalize,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.reshape"
// CHECK: %[[A:.*]] = "kiln.generic"(%arg0, %arg1)
// CHECK: indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>]
// CHECK: %[[M:.*]] = "kiln.generic"(%[[A]], %arg2, %arg3)
// CHECK: indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1, d2)>, affine_map<(d0, d1, d2, d3) -> (0, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>]
// CHECK: %[[R:.*]] = "kiln.reshape"(%[[M]]) {{.*}} : (tensor<1x5x6x8xf32>) -> tensor<5x6x8xf32>
// CHECK: return %[[R]]
module {
  func.func @main(%arg0: tensor<1x5x6x8xf32> {kiln.name = "x"}, %arg1: tensor<8xf32> {kiln.name = "bias"}, %arg2: tensor<5x6xf32> {kiln.name = "mask"}, %arg3: tensor<1x6xf32> {kiln.name = "row"}) -> (tensor<5x6x8xf32> {kiln.name = "y"}) {
    %0 = "kiln.reshape"(%arg0) {kiln.name = "drop_n"} : (tensor<1x5x6x8xf32>) -> tensor<5x6x8xf32>
    %1 = "kiln.generic"(%0, %arg1) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.addf %a, %b : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "bias_add", indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} : (tensor<5x6x8xf32>, tensor<8xf32>) -> tensor<5x6x8xf32>
    %2 = "kiln.generic"(%1, %arg2, %arg3) ({
    ^bb0(%a: f32, %b: f32, %c: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      %n = arith.addf %m, %c : f32
      "kiln.yield"(%n) : (f32) -> ()
    }) {kiln.name = "mask_mul", indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} : (tensor<5x6x8xf32>, tensor<5x6xf32>, tensor<1x6xf32>) -> tensor<5x6x8xf32>
    return %2 : tensor<5x6x8xf32>
  }
}
