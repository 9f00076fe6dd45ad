// Guards: a reshape that splits a non-unit dim (4x6 -> 4x2x3) in front of a per-channel
// broadcast add (bias[3] read as (d2)) must not move: in the unsplit shape there is no
// loop the bias could be indexed by. The reshape stays in front of the generic and the
// generic keeps its maps (numbers checked by --verify-each).
// RUN: %kiln compile %s --passes=propagate-reshapes,canonicalize,fuse-elementwise,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[R:.*]] = "kiln.reshape"(%arg0) {{.*}} : (tensor<4x6xf32>) -> tensor<4x2x3xf32>
// CHECK: %[[G:.*]] = "kiln.generic"(%[[R]], %arg1)
// CHECK: indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>]
// CHECK: return %[[G]]
module {
  func.func @main(%arg0: tensor<4x6xf32> {kiln.name = "x"}, %arg1: tensor<3xf32> {kiln.name = "bias"}) -> (tensor<4x2x3xf32> {kiln.name = "y"}) {
    %0 = "kiln.reshape"(%arg0) {kiln.name = "split"} : (tensor<4x6xf32>) -> tensor<4x2x3xf32>
    %1 = "kiln.generic"(%0, %arg1) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.addf %a, %b : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "bias_add", indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} : (tensor<4x2x3xf32>, tensor<3xf32>) -> tensor<4x2x3xf32>
    return %1 : tensor<4x2x3xf32>
  }
}
