// Guards: an NHWC 1x1 conv (stride 1, no pads, constant hwcf weight) becomes
// reshape -> matmul -> reshape with the reduction dim C innermost in both operands:
// [N*H*W, C] x [C, F]. No transpose of the activation may appear.
// RUN: %kiln compile %s --passes=conv1x1-to-matmul --verify-each --emit-ir | FileCheck %s
// RUN: %kiln compile %s --passes=conv1x1-to-matmul,fold-constants,dce --verify-each --emit-ir | FileCheck %s --check-prefix=FOLD

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.conv_2d"
// CHECK-NOT: "kiln.transpose"
// CHECK: %[[X:.*]] = "kiln.reshape"(%arg0) {{.*}} : (tensor<2x3x5x4xf32>) -> tensor<30x4xf32>
// CHECK: %[[W:.*]] = "kiln.reshape"(%{{.*}}) {{.*}} : (tensor<1x1x4x6xf32>) -> tensor<4x6xf32>
// CHECK: %[[M:.*]] = "kiln.matmul"(%[[X]], %[[W]]) {{.*}} -> tensor<30x6xf32>
// CHECK: %[[Y:.*]] = "kiln.reshape"(%[[M]]) {{.*}} -> tensor<2x3x5x6xf32>
// CHECK-NOT: "kiln.transpose"
// CHECK: return %[[Y]]
// The weight reshape is constant and folds into a [C, F] constant:
// FOLD: %[[W:.*]] = "kiln.constant"() {{.*}} : () -> tensor<4x6xf32>
// FOLD: "kiln.matmul"(%{{.*}}, %[[W]])
module {
  func.func @main(%arg0: tensor<2x3x5x4xf32> {kiln.name = "x"}) -> (tensor<2x3x5x6xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<[[[[0.5, -1.0, 2.0, 0.25, 1.5, 1.0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [-0.5, 1.0, -2.0, 0.75, -1.5, 3.0], [1.0, 1.0, 1.0, -1.0, -1.0, -1.0]]]]> : tensor<1x1x4x6xf32>, kiln.name = "w"} : () -> tensor<1x1x4x6xf32>
    %0 = "kiln.conv_2d"(%arg0, %w) {kiln.name = "conv", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<2x3x5x4xf32>, tensor<1x1x4x6xf32>) -> tensor<2x3x5x6xf32>
    return %0 : tensor<2x3x5x6xf32>
  }
}
