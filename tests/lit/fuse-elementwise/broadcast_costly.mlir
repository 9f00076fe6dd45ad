// Guards: a producer with a costly body (a sigmoid: exp and a division) that the consumer
// reads broadcast over many more points (a squeeze-excitation scale over a feature map)
// stays its own generic, computed once per channel instead of once per pixel; the cheap
// add before it still fuses into it.
// RUN: %kiln compile %s --passes=fuse-elementwise,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[S:.*]] = "kiln.generic"(%arg1, %arg2)
// CHECK: arith.addf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: -> tensor<1x1x1x8xf32>
// CHECK: %[[M:.*]] = "kiln.generic"(%arg0, %[[S]])
// CHECK: arith.mulf
// CHECK-NOT: math.exp
// CHECK: return %[[M]]
module {
  func.func @main(%arg0: tensor<1x4x4x8xf32> {kiln.name = "x"}, %arg1: tensor<1x1x1x8xf32> {kiln.name = "fc"}, %arg2: tensor<8xf32> {kiln.name = "b"}) -> (tensor<1x4x4x8xf32> {kiln.name = "y"}) {
    %0 = "kiln.generic"(%arg1, %arg2) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.addf %a, %b : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "bias", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x1x1x8xf32>, tensor<8xf32>) -> tensor<1x1x1x8xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%a: f32, %o: f32):
      %n = arith.negf %a : f32
      %e = math.exp %n : f32
      %one = arith.constant 1.0 : f32
      %d = arith.addf %one, %e : f32
      %r = arith.divf %one, %d : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "sigmoid", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x1x1x8xf32>) -> tensor<1x1x1x8xf32>
    %2 = "kiln.generic"(%arg0, %1) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      "kiln.yield"(%m) : (f32) -> ()
    }) {kiln.name = "scale", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, 0, 0, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xf32>, tensor<1x1x1x8xf32>) -> tensor<1x4x4x8xf32>
    return %2 : tensor<1x4x4x8xf32>
  }
}
