// Guards: IREE's failures 1 and 2 on the tf2onnx DeepLabV3 — an NHWC graph input
// transposed to NCHW for a depthwise conv, a relu6 clamp, and a transpose back to NHWC
// for the output. After channels-last and transpose propagation no transpose may remain
// at all: the boundary transposes cancel against the conv's own, through the clamp.
// RUN: %kiln compile %s --passes=channels-last,fold-constants,propagate-transposes,canonicalize,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.transpose"
// CHECK: %[[D:.*]] = "kiln.depthwise_conv_2d"(%arg0,
// CHECK-SAME: layout = "nhwc"
// CHECK: %[[C:.*]] = "kiln.generic"(%[[D]])
// CHECK: arith.minf
// CHECK-NOT: "kiln.transpose"
// CHECK: return %[[C]]
module {
  func.func @main(%arg0: tensor<1x4x4x3xf32> {kiln.name = "x_nhwc"}) -> (tensor<1x4x4x3xf32> {kiln.name = "y_nhwc"}) {
    %w = "kiln.constant"() {value = dense<[[[1.0, 2.0], [3.0, 4.0]], [[-1.0, 0.5], [0.25, 2.0]], [[0.0, 1.0], [1.0, 0.0]]]> : tensor<3x2x2xf32>, kiln.name = "w"} : () -> tensor<3x2x2xf32>
    %0 = "kiln.transpose"(%arg0) {kiln.name = "to_nchw", perm = array<i64: 0, 3, 1, 2>} : (tensor<1x4x4x3xf32>) -> tensor<1x3x4x4xf32>
    %1 = "kiln.depthwise_conv_2d"(%0, %w) {kiln.name = "dw", kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 1, 1>, layout = "nchw"} : (tensor<1x3x4x4xf32>, tensor<3x2x2xf32>) -> tensor<1x3x4x4xf32>
    %2 = "kiln.generic"(%1) ({
    ^bb0(%in0: f32, %out0: f32):
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 6.0 : f32
      %a = arith.maxf %in0, %lo : f32
      %b = arith.minf %a, %hi : f32
      "kiln.yield"(%b) : (f32) -> ()
    }) {kiln.name = "relu6", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
    %3 = "kiln.transpose"(%2) {kiln.name = "to_nhwc", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x3x4x4xf32>) -> tensor<1x4x4x3xf32>
    return %3 : tensor<1x4x4x3xf32>
  }
}
