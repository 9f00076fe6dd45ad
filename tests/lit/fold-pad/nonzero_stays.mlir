// Guards: a pad with a nonzero value (here 1.0) is not zero padding, and a negative pad
// (a crop) is not padding at all: neither may fold into the conv, whose own pads are
// zeros. Both pads and both convs' original pads must stay.
// RUN: %kiln compile %s --passes=fold-pad --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[P:.*]] = "kiln.pad"(%arg0) {kiln.name = "one_pad"
// CHECK: "kiln.conv_2d"(%[[P]], %arg1) {{.*}}pads = array<i64: 0, 0, 0, 0>
// CHECK: %[[Q:.*]] = "kiln.pad"(%arg0) {kiln.name = "crop"
// CHECK: "kiln.conv_2d"(%[[Q]], %arg1) {{.*}}pads = array<i64: 0, 0, 0, 0>
module {
  func.func @main(%arg0: tensor<1x6x6x3xf32> {kiln.name = "x"}, %arg1: tensor<3x3x3x4xf32> {kiln.name = "w"}) -> (tensor<1x3x3x4xf32> {kiln.name = "y"}, tensor<1x2x2x4xf32> {kiln.name = "z"}) {
    %0 = "kiln.pad"(%arg0) {kiln.name = "one_pad", pad_lo = array<i64: 0, 0, 0, 0>, pad_hi = array<i64: 0, 1, 1, 0>, pad_mode = "constant", pad_value = 1.0 : f64} : (tensor<1x6x6x3xf32>) -> tensor<1x7x7x3xf32>
    %1 = "kiln.conv_2d"(%0, %arg1) {kiln.name = "conv", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x7x7x3xf32>, tensor<3x3x3x4xf32>) -> tensor<1x3x3x4xf32>
    %2 = "kiln.pad"(%arg0) {kiln.name = "crop", pad_lo = array<i64: 0, 0, 0, 0>, pad_hi = array<i64: 0, -1, -1, 0>, pad_mode = "constant", pad_value = 0.0 : f64} : (tensor<1x6x6x3xf32>) -> tensor<1x5x5x3xf32>
    %3 = "kiln.conv_2d"(%2, %arg1) {kiln.name = "conv2", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x5x5x3xf32>, tensor<3x3x3x4xf32>) -> tensor<1x2x2x4xf32>
    return %1, %3 : tensor<1x3x3x4xf32>, tensor<1x2x2x4xf32>
  }
}
