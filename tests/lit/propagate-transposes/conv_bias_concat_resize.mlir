// Guards: transposes must sink through an elementwise op with a per-channel broadcast
// operand (its map is renamed, the constant is not re-laid), through concat (axis
// remapped) and resize (scales permuted), so that only the one transpose next to the NCHW
// graph output remains.
// RUN: %kiln compile %s --passes=channels-last,fold-constants,propagate-transposes,canonicalize,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-COUNT-1: "kiln.transpose"
// CHECK-NOT: "kiln.transpose"
// CHECK: "kiln.concat"({{.*}}axis = 3
// CHECK: %[[R:.*]] = "kiln.resize"
// CHECK-SAME: scales = array<f64: 1.0{{.*}}, 2.0{{.*}}, 2.0{{.*}}, 1.0{{.*}}>
// CHECK: %[[T:.*]] = "kiln.transpose"(%[[R]]) {{{.*}}perm = array<i64: 0, 3, 1, 2>}
// CHECK: return %[[T]]
module {
  func.func @main(%arg0: tensor<1x2x3x3xf32> {kiln.name = "x"}) -> (tensor<1x4x6x6xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<[[[[1.0]], [[2.0]]], [[[-1.0]], [[0.5]]]]> : tensor<2x2x1x1xf32>, kiln.name = "w"} : () -> tensor<2x2x1x1xf32>
    %b = "kiln.constant"() {value = dense<[0.5, -0.25]> : tensor<2xf32>, kiln.name = "b"} : () -> tensor<2xf32>
    %0 = "kiln.conv_2d"(%arg0, %w) {kiln.name = "conv", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw", groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
    %1 = "kiln.generic"(%0, %b) ({
    ^bb0(%in0: f32, %in1: f32, %out0: f32):
      %s = arith.addf %in0, %in1 : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "bias", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x2x3x3xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
    %2 = "kiln.concat"(%1, %0) {kiln.name = "cat", axis = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x4x3x3xf32>
    %3 = "kiln.resize"(%2) {kiln.name = "up", mode = "nearest", coordinate_transformation_mode = "asymmetric", nearest_mode = "floor", cubic_coeff_a = -7.5e-01 : f64, scales = array<f64: 1.0, 1.0, 2.0, 2.0>} : (tensor<1x4x3x3xf32>) -> tensor<1x4x6x6xf32>
    return %3 : tensor<1x4x6x6xf32>
  }
}
