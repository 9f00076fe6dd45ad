// Guards: IREE's failure 1 — depthwise convs staying NCHW. Every conv kind and pooling
// must become NHWC, with transposes only at the op boundary and the weight re-laid
// (chw -> hwc) by a transpose of a constant that folds away.
// RUN: %kiln compile %s --passes=channels-last,fold-constants,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[X:.*]] = "kiln.transpose"(%arg0) {{{.*}}perm = array<i64: 0, 2, 3, 1>}
// CHECK: "kiln.depthwise_conv_2d"(%[[X]], {{.*}}layout = "nhwc"{{.*}} -> tensor<1x4x4x3xf32>
// CHECK: "kiln.transpose"({{.*}}perm = array<i64: 0, 3, 1, 2>}
// CHECK: "kiln.pooling"({{.*}}layout = "nhwc"
// CHECK-NOT: layout = "nchw"
module {
  func.func @main(%arg0: tensor<1x3x4x4xf32> {kiln.name = "x"}) -> (tensor<1x3x2x2xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<[[[1.0, 2.0], [3.0, 4.0]], [[-1.0, 0.5], [0.25, 2.0]], [[0.0, 1.0], [1.0, 0.0]]]> : tensor<3x2x2xf32>, kiln.name = "w"} : () -> tensor<3x2x2xf32>
    %0 = "kiln.depthwise_conv_2d"(%arg0, %w) {kiln.name = "dw", kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 1, 1>, layout = "nchw"} : (tensor<1x3x4x4xf32>, tensor<3x2x2xf32>) -> tensor<1x3x4x4xf32>
    %1 = "kiln.pooling"(%0) {kiln.name = "pool", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw", pool_kind = "max", count_include_pad = false} : (tensor<1x3x4x4xf32>) -> tensor<1x3x2x2xf32>
    return %1 : tensor<1x3x2x2xf32>
  }
}
