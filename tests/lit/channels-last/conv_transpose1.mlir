// Guards: ConvTranspose is a conv kind too (DeepLab-style decoders upsample with it): it
// must become NHWC with its iohw weights re-laid to hwoi, strides, pads, output_padding
// and groups intact (numbers checked by --verify-each).
// RUN: %kiln compile %s --passes=channels-last,fold-constants,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: "kiln.conv_transpose_2d"({{.*}}layout = "nhwc"{{.*}} -> tensor<1x6x6x4xf32>
// CHECK-NOT: layout = "nchw"
module {
  func.func @main(%arg0: tensor<1x2x3x3xf32> {kiln.name = "x"}) -> (tensor<1x4x6x6xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<[[[[1.0, 2.0, 0.5], [0.0, -1.0, 1.0], [0.25, 0.5, 2.0]], [[1.0, 0.0, -1.0], [2.0, 1.0, 0.0], [0.5, 0.5, 0.5]]], [[[-1.0, 1.0, 0.0], [1.0, 2.0, 3.0], [0.0, 0.0, 1.0]], [[2.0, -2.0, 1.0], [0.5, 1.5, -0.5], [1.0, 1.0, 1.0]]]]> : tensor<2x2x3x3xf32>, kiln.name = "w"} : () -> tensor<2x2x3x3xf32>
    %b = "kiln.constant"() {value = dense<[0.5, -0.5, 1.0, 0.0]> : tensor<4xf32>, kiln.name = "b"} : () -> tensor<4xf32>
    %0 = "kiln.conv_transpose_2d"(%arg0, %w, %b) {kiln.name = "up", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 0, 0>, layout = "nchw", groups = 2 : i64, output_padding = array<i64: 0, 0>} : (tensor<1x2x3x3xf32>, tensor<2x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
    return %0 : tensor<1x4x6x6xf32>
  }
}
