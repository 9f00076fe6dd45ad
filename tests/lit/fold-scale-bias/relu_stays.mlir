// Guards: a clamp (relu) after the conv is not affine, so nothing may fold: the conv and
// the generic both stay.
// RUN: %kiln compile %s --passes=fold-scale-bias,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: "kiln.conv_2d"(%arg0, %{{[^,]*}})
// CHECK: "kiln.generic"
// CHECK: arith.maxf
module {
  func.func @main(%arg0: tensor<1x2x4x4xf32> {kiln.name = "x"}) -> (tensor<1x3x4x4xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<[[[[0.5]], [[-1.0]]], [[[2.0]], [[0.25]]], [[[1.5]], [[1.0]]]]> : tensor<3x2x1x1xf32>, kiln.name = "w"} : () -> tensor<3x2x1x1xf32>
    %0 = "kiln.conv_2d"(%arg0, %w) {kiln.name = "conv", layout = "nchw", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<3x2x1x1xf32>) -> tensor<1x3x4x4xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%x: f32, %o: f32):
      %z = arith.constant 0.0 : f32
      %m = arith.maxf %x, %z : f32
      "kiln.yield"(%m) : (f32) -> ()
    }) {kiln.name = "relu", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
    return %1 : tensor<1x3x4x4xf32>
  }
}
