// Guards: an NCHW 1x1 conv must be left alone (converting it before channels-last would
// put the reduction dim C outermost, the IREE ordering bug), and so must an NHWC 3x3
// conv and a padded NHWC 1x1 conv (the pads add zero rows a matmul would not produce).
// RUN: %kiln compile %s --passes=conv1x1-to-matmul --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.matmul"
// CHECK: "kiln.conv_2d"(%arg0, %arg1) {kiln.name = "nchw_1x1"
// CHECK: "kiln.conv_2d"(%arg2, %arg3) {kiln.name = "nhwc_3x3"
// CHECK: "kiln.conv_2d"(%arg2, %arg4) {kiln.name = "nhwc_1x1_padded"
// CHECK-NOT: "kiln.matmul"
module {
  func.func @main(%arg0: tensor<1x4x3x3xf32> {kiln.name = "x"}, %arg1: tensor<2x4x1x1xf32> {kiln.name = "w"}, %arg2: tensor<1x3x3x4xf32> {kiln.name = "xh"}, %arg3: tensor<3x3x4x2xf32> {kiln.name = "w3"}, %arg4: tensor<1x1x4x2xf32> {kiln.name = "w1"}) -> (tensor<1x2x3x3xf32> {kiln.name = "y"}, tensor<1x1x1x2xf32> {kiln.name = "z"}, tensor<1x5x5x2xf32> {kiln.name = "p"}) {
    %0 = "kiln.conv_2d"(%arg0, %arg1) {kiln.name = "nchw_1x1", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw", groups = 1 : i64} : (tensor<1x4x3x3xf32>, tensor<2x4x1x1xf32>) -> tensor<1x2x3x3xf32>
    %1 = "kiln.conv_2d"(%arg2, %arg3) {kiln.name = "nhwc_3x3", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x3x3x4xf32>, tensor<3x3x4x2xf32>) -> tensor<1x1x1x2xf32>
    %2 = "kiln.conv_2d"(%arg2, %arg4) {kiln.name = "nhwc_1x1_padded", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x3x3x4xf32>, tensor<1x1x4x2xf32>) -> tensor<1x5x5x2xf32>
    return %0, %1, %2 : tensor<1x2x3x3xf32>, tensor<1x1x1x2xf32>, tensor<1x5x5x2xf32>
  }
}
