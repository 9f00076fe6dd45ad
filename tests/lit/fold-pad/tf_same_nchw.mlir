// Guards: the same TensorFlow-style asymmetric pad in NCHW (spatial dims 2 and 3), here
// on top of pads the conv already has (1 on the left): the pads must add up, giving
// t,l,b,r = 0,1,1,1. A depthwise conv behind the same kind of pad folds too.
// RUN: %kiln compile %s --passes=fold-pad --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.pad"
// CHECK: %[[C:.*]] = "kiln.conv_2d"(%arg0, %{{.*}}) {{.*}}strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 1, 1, 1>, layout = "nchw"
// CHECK-NOT: "kiln.pad"
// CHECK: "kiln.depthwise_conv_2d"(%[[C]], %{{.*}}) {{.*}}pads = array<i64: 1, 1, 1, 1>
module {
  func.func @main(%arg0: tensor<1x3x6x6xf32> {kiln.name = "x"}, %arg1: tensor<4x3x3x3xf32> {kiln.name = "w"}, %arg2: tensor<4x3x3xf32> {kiln.name = "dw"}) -> (tensor<1x4x3x3xf32> {kiln.name = "y"}) {
    %0 = "kiln.pad"(%arg0) {kiln.name = "tf_pad", pad_lo = array<i64: 0, 0, 0, 0>, pad_hi = array<i64: 0, 0, 1, 1>, pad_mode = "constant", pad_value = 0.0 : f64} : (tensor<1x3x6x6xf32>) -> tensor<1x3x7x7xf32>
    %1 = "kiln.conv_2d"(%0, %arg1) {kiln.name = "conv", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 1, 0, 0>, layout = "nchw", groups = 1 : i64} : (tensor<1x3x7x7xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x3x3xf32>
    %2 = "kiln.pad"(%1) {kiln.name = "dw_pad", pad_lo = array<i64: 0, 0, 1, 1>, pad_hi = array<i64: 0, 0, 1, 1>, pad_mode = "constant", pad_value = 0.0 : f64} : (tensor<1x4x3x3xf32>) -> tensor<1x4x5x5xf32>
    %3 = "kiln.depthwise_conv_2d"(%2, %arg2) {kiln.name = "dwconv", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw"} : (tensor<1x4x5x5xf32>, tensor<4x3x3xf32>) -> tensor<1x4x3x3xf32>
    return %3 : tensor<1x4x3x3xf32>
  }
}
