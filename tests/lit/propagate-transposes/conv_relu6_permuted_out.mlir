// Guards: IREE's failure 2 — a conv + relu6 whose result is written permuted (NCHW ->
// NHWC for the consumer). The transpose must fold away: after channels-last the conv's
// own NHWC -> NCHW transpose sinks through the clamp and cancels with the output
// transpose, leaving conv (NHWC) -> clamp -> return with no transpose after the conv.
// RUN: %kiln compile %s --passes=channels-last,fold-constants,propagate-transposes,canonicalize,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[X:.*]] = "kiln.transpose"(%arg0) {{{.*}}perm = array<i64: 0, 2, 3, 1>}
// CHECK: %[[C:.*]] = "kiln.conv_2d"(%[[X]],
// CHECK-SAME: layout = "nhwc"
// CHECK: %[[R:.*]] = "kiln.generic"(%[[C]])
// CHECK-NOT: "kiln.transpose"
// CHECK: return %[[R]]
module {
  func.func @main(%arg0: tensor<1x2x5x5xf32> {kiln.name = "x"}) -> (tensor<1x3x3x4xf32> {kiln.name = "y_nhwc"}) {
    %w = "kiln.constant"() {value = dense<0.25> : tensor<4x2x3x3xf32>, kiln.name = "w"} : () -> tensor<4x2x3x3xf32>
    %b = "kiln.constant"() {value = dense<[0.5, -0.5, 1.0, 7.0]> : tensor<4xf32>, kiln.name = "b"} : () -> tensor<4xf32>
    %0 = "kiln.conv_2d"(%arg0, %w, %b) {kiln.name = "conv", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nchw", groups = 1 : i64} : (tensor<1x2x5x5xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%in0: f32, %out0: f32):
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 6.0 : f32
      %a = arith.maxf %in0, %lo : f32
      %c = arith.minf %a, %hi : f32
      "kiln.yield"(%c) : (f32) -> ()
    }) {kiln.name = "relu6", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
    %2 = "kiln.transpose"(%1) {kiln.name = "to_nhwc", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x3x3xf32>) -> tensor<1x3x3x4xf32>
    return %2 : tensor<1x3x3x4xf32>
  }
}
