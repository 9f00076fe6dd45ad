// Guards: a depthwise conv whose activation arrives NCHW through a transpose and whose
// weight is a transposed constant: both transposes are reads of the root and fuse into
// its dispatch (no standalone transpose dispatch); the constant stays outside.
// RUN: %kiln compile %s --passes=dce --form-dispatches --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s --passes=dce | FileCheck %s --check-prefix=REPORT

// CHECK-LABEL: func.func @main
// CHECK: "kiln.dispatch"(%arg0, %{{.*}}) ({
// CHECK: "kiln.transpose"
// CHECK: "kiln.transpose"
// CHECK: "kiln.depthwise_conv_2d"
// CHECK: kiln.name = "dispatch_0_depthwise_conv_nhwc_3x3_1x5x5x3_f32"
// CHECK-NOT: "kiln.dispatch"
// REPORT: dispatches: 1
// REPORT: data-movement dispatches: 0
// REPORT: transposes left: 2
module {
  func.func @main(%arg0: tensor<1x3x5x5xf32> {kiln.name = "x_nchw"}) -> (tensor<1x5x5x3xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<[[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]], [[1.0, 1.1, 1.2], [1.3, 1.4, 1.5], [1.6, 1.7, 1.8]], [[-0.1, -0.2, -0.3], [-0.4, -0.5, -0.6], [-0.7, -0.8, -0.9]]]> : tensor<3x3x3xf32>, kiln.name = "w_chw"} : () -> tensor<3x3x3xf32>
    %0 = "kiln.transpose"(%arg0) {kiln.name = "to_nhwc", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x3x5x5xf32>) -> tensor<1x5x5x3xf32>
    %1 = "kiln.transpose"(%w) {kiln.name = "to_hwc", perm = array<i64: 1, 2, 0>} : (tensor<3x3x3xf32>) -> tensor<3x3x3xf32>
    %2 = "kiln.depthwise_conv_2d"(%0, %1) {kiln.name = "dw", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc"} : (tensor<1x5x5x3xf32>, tensor<3x3x3xf32>) -> tensor<1x5x5x3xf32>
    return %2 : tensor<1x5x5x3xf32>
  }
}
