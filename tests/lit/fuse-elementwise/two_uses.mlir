// Guards: a producer whose result has two uses (read by two generics, one of them twice)
// must not be fused: fusing would duplicate or lose its computation.
// RUN: %kiln compile %s --passes=fuse-elementwise,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[P:.*]] = "kiln.generic"(%arg0)
// CHECK: arith.negf
// CHECK: %[[C:.*]] = "kiln.generic"(%[[P]], %[[P]])
// CHECK: %[[D:.*]] = "kiln.generic"(%[[P]])
// CHECK: return %[[C]], %[[D]]
module {
  func.func @main(%arg0: tensor<4x5xf32> {kiln.name = "x"}) -> (tensor<4x5xf32> {kiln.name = "y"}, tensor<4x5xf32> {kiln.name = "z"}) {
    %0 = "kiln.generic"(%arg0) ({
    ^bb0(%a: f32, %o: f32):
      %n = arith.negf %a : f32
      "kiln.yield"(%n) : (f32) -> ()
    }) {kiln.name = "neg", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<4x5xf32>) -> tensor<4x5xf32>
    %1 = "kiln.generic"(%0, %0) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      "kiln.yield"(%m) : (f32) -> ()
    }) {kiln.name = "square", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<4x5xf32>, tensor<4x5xf32>) -> tensor<4x5xf32>
    %2 = "kiln.generic"(%0) ({
    ^bb0(%a: f32, %o: f32):
      %e = math.exp %a : f32
      "kiln.yield"(%e) : (f32) -> ()
    }) {kiln.name = "exp", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<4x5xf32>) -> tensor<4x5xf32>
    return %1, %2 : tensor<4x5xf32>, tensor<4x5xf32>
  }
}
