// Guards: a 1x1 conv with bias: after the matmul and the reshape back to NHWC, the bias
// is added by a generic whose bias map is the last loop, (d3), i.e. per output channel.
// The reshapes and matmul are as without bias.
// RUN: %kiln compile %s --passes=conv1x1-to-matmul --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.conv_2d"
// CHECK-NOT: "kiln.transpose"
// CHECK: %[[X:.*]] = "kiln.reshape"(%arg0) {{.*}} : (tensor<2x3x5x4xf32>) -> tensor<30x4xf32>
// CHECK: %[[W:.*]] = "kiln.reshape"(%{{.*}}) {{.*}} : (tensor<1x1x4x6xf32>) -> tensor<4x6xf32>
// CHECK: %[[M:.*]] = "kiln.matmul"(%[[X]], %[[W]]) {{.*}} -> tensor<30x6xf32>
// CHECK: %[[R:.*]] = "kiln.reshape"(%[[M]]) {{.*}} -> tensor<2x3x5x6xf32>
// CHECK: %[[Y:.*]] = "kiln.generic"(%[[R]], %{{.*}})
// CHECK: arith.addf
// CHECK: indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>]
// CHECK-NOT: "kiln.transpose"
// CHECK: return %[[Y]]
module {
  func.func @main(%arg0: tensor<2x3x5x4xf32> {kiln.name = "x"}) -> (tensor<2x3x5x6xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<[[[[0.5, -1.0, 2.0, 0.25, 1.5, 1.0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [-0.5, 1.0, -2.0, 0.75, -1.5, 3.0], [1.0, 1.0, 1.0, -1.0, -1.0, -1.0]]]]> : tensor<1x1x4x6xf32>, kiln.name = "w"} : () -> tensor<1x1x4x6xf32>
    %b = "kiln.constant"() {value = dense<[0.1, -0.2, 0.3, -0.4, 0.5, -0.6]> : tensor<6xf32>, kiln.name = "b"} : () -> tensor<6xf32>
    %0 = "kiln.conv_2d"(%arg0, %w, %b) {kiln.name = "conv", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<2x3x5x4xf32>, tensor<1x1x4x6xf32>, tensor<6xf32>) -> tensor<2x3x5x6xf32>
    return %0 : tensor<2x3x5x6xf32>
  }
}
