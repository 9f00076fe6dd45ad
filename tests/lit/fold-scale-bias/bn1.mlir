// Guards: BatchNorm after import is x * scale[c] + shift[c] in one generic; it must fold
// into the conv's weights and bias (NCHW weights: output channel is dim 0), leaving one
// conv with three operands and no generic.
// RUN: %kiln compile %s --passes=fold-scale-bias,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.generic"
// CHECK: %[[C:.*]] = "kiln.conv_2d"(%arg0, %{{.*}}, %{{.*}})
// CHECK-NOT: "kiln.generic"
// CHECK: return %[[C]]
module {
  func.func @main(%arg0: tensor<1x2x4x4xf32> {kiln.name = "x"}) -> (tensor<1x3x4x4xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<[[[[0.5]], [[-1.0]]], [[[2.0]], [[0.25]]], [[[1.5]], [[1.0]]]]> : tensor<3x2x1x1xf32>, kiln.name = "w"} : () -> tensor<3x2x1x1xf32>
    %b = "kiln.constant"() {value = dense<[0.1, 0.2, 0.3]> : tensor<3xf32>, kiln.name = "b"} : () -> tensor<3xf32>
    %s = "kiln.constant"() {value = dense<[[[2.0]], [[-0.5]], [[3.0]]]> : tensor<3x1x1xf32>, kiln.name = "scale"} : () -> tensor<3x1x1xf32>
    %t = "kiln.constant"() {value = dense<[[[1.0]], [[0.0]], [[-2.0]]]> : tensor<3x1x1xf32>, kiln.name = "shift"} : () -> tensor<3x1x1xf32>
    %0 = "kiln.conv_2d"(%arg0, %w, %b) {kiln.name = "conv", layout = "nchw", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<3x2x1x1xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
    %1 = "kiln.generic"(%0, %s, %t) ({
    ^bb0(%x: f32, %sc: f32, %sh: f32, %o: f32):
      %m = arith.mulf %x, %sc : f32
      %a = arith.addf %m, %sh : f32
      "kiln.yield"(%a) : (f32) -> ()
    }) {kiln.name = "bn", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>, affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x3x4x4xf32>, tensor<3x1x1xf32>, tensor<3x1x1xf32>) -> tensor<1x3x4x4xf32>
    return %1 : tensor<1x3x4x4xf32>
  }
}
