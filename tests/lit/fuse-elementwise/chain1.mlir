// Guards: a chain of three elementwise generics (add -> mul -> clamp), each result used
// once, must become one generic that reads both graph inputs, with all three bodies in it.
// RUN: %kiln compile %s --passes=fuse-elementwise,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[G:.*]] = "kiln.generic"(%arg0, %arg1)
// CHECK: arith.addf
// CHECK: arith.mulf
// CHECK: arith.maxf
// CHECK: arith.minf
// CHECK-NOT: "kiln.generic"
// CHECK: return %[[G]]
module {
  func.func @main(%arg0: tensor<2x3x4xf32> {kiln.name = "x"}, %arg1: tensor<2x3x4xf32> {kiln.name = "y"}) -> (tensor<2x3x4xf32> {kiln.name = "z"}) {
    %0 = "kiln.generic"(%arg0, %arg1) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.addf %a, %b : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "add", indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
    %1 = "kiln.generic"(%0, %arg1) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      "kiln.yield"(%m) : (f32) -> ()
    }) {kiln.name = "mul", indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
    %2 = "kiln.generic"(%1) ({
    ^bb0(%a: f32, %o: f32):
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 0.5 : f32
      %c0 = arith.maxf %a, %lo : f32
      %c1 = arith.minf %c0, %hi : f32
      "kiln.yield"(%c1) : (f32) -> ()
    }) {kiln.name = "clamp", indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
    return %2 : tensor<2x3x4xf32>
  }
}
