// Guards: a strided 1x1 conv reads only every second row and column: it must become an
// extract_slice with steps 1,2,2,1 (offsets 0) and then the same reshape -> matmul ->
// reshape, with the output spatial size (3x3 from 5x6 at stride 2).
// RUN: %kiln compile %s --passes=conv1x1-to-matmul --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.conv_2d"
// CHECK: %[[S:.*]] = "kiln.extract_slice"(%arg0) {{.*}}offsets = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 2, 2, 1>} : (tensor<1x5x6x4xf32>) -> tensor<1x3x3x4xf32>
// CHECK: %[[X:.*]] = "kiln.reshape"(%[[S]]) {{.*}} -> tensor<9x4xf32>
// CHECK: %[[M:.*]] = "kiln.matmul"(%[[X]], %{{.*}}) {{.*}} -> tensor<9x3xf32>
// CHECK: %[[Y:.*]] = "kiln.reshape"(%[[M]]) {{.*}} -> tensor<1x3x3x3xf32>
// CHECK: return %[[Y]]
module {
  func.func @main(%arg0: tensor<1x5x6x4xf32> {kiln.name = "x"}) -> (tensor<1x3x3x3xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<[[[[0.5, -1.0, 2.0], [0.1, 0.2, 0.3], [-0.5, 1.0, -2.0], [1.0, 1.0, -1.0]]]]> : tensor<1x1x4x3xf32>, kiln.name = "w"} : () -> tensor<1x1x4x3xf32>
    %0 = "kiln.conv_2d"(%arg0, %w) {kiln.name = "conv", kernel = array<i64: 1, 1>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x5x6x4xf32>, tensor<1x1x4x3xf32>) -> tensor<1x3x3x3xf32>
    return %0 : tensor<1x3x3x3xf32>
  }
}
