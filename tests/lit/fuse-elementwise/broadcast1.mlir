// Guards: a per-channel operand (bias[c], read with a broadcast map) of the producer must
// keep a broadcast map after fusion, composed into the consumer's loops, here through a
// transposed read: the consumer reads the NCHW producer as NHWC, so the channel is loop
// d3 of the fused op and the bias map must become (d3), not (d1).
// RUN: %kiln compile %s --passes=fuse-elementwise,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[G:.*]] = "kiln.generic"(%arg0, %arg1, %arg2)
// CHECK: indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d3, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>]
// CHECK-NOT: "kiln.generic"
// CHECK: return %[[G]]
module {
  func.func @main(%arg0: tensor<2x3x4x5xf32> {kiln.name = "x"}, %arg1: tensor<3xf32> {kiln.name = "bias"}, %arg2: tensor<1x4x5x3xf32> {kiln.name = "s"}) -> (tensor<2x4x5x3xf32> {kiln.name = "y"}) {
    %0 = "kiln.generic"(%arg0, %arg1) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.addf %a, %b : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "bias_add", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<2x3x4x5xf32>, tensor<3xf32>) -> tensor<2x3x4x5xf32>
    %1 = "kiln.generic"(%0, %arg2) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      "kiln.yield"(%m) : (f32) -> ()
    }) {kiln.name = "to_nhwc_mul", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d3, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<2x3x4x5xf32>, tensor<1x4x5x3xf32>) -> tensor<2x4x5x3xf32>
    return %1 : tensor<2x4x5x3xf32>
  }
}
