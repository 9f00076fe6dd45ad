// Guards: a zero pad with two uses (a conv and the function result) must stay: folding
// it into the conv would leave the other user without its padded tensor.
// RUN: %kiln compile %s --passes=fold-pad --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[P:.*]] = "kiln.pad"(%arg0)
// CHECK: %[[C:.*]] = "kiln.conv_2d"(%[[P]], %arg1) {{.*}}pads = array<i64: 0, 0, 0, 0>
// CHECK: return %[[C]], %[[P]]
module {
  func.func @main(%arg0: tensor<1x6x6x3xf32> {kiln.name = "x"}, %arg1: tensor<3x3x3x4xf32> {kiln.name = "w"}) -> (tensor<1x3x3x4xf32> {kiln.name = "y"}, tensor<1x7x7x3xf32> {kiln.name = "padded"}) {
    %0 = "kiln.pad"(%arg0) {kiln.name = "tf_pad", pad_lo = array<i64: 0, 0, 0, 0>, pad_hi = array<i64: 0, 1, 1, 0>, pad_mode = "constant", pad_value = 0.0 : f64} : (tensor<1x6x6x3xf32>) -> tensor<1x7x7x3xf32>
    %1 = "kiln.conv_2d"(%0, %arg1) {kiln.name = "conv", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x7x7x3xf32>, tensor<3x3x3x4xf32>) -> tensor<1x3x3x4xf32>
    return %1, %0 : tensor<1x3x3x4xf32>, tensor<1x7x7x3xf32>
  }
}
