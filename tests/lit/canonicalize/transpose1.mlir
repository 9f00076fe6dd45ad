// Guards: transpose(transpose(x)) composes into one transpose, and an inverse pair
// composes into the identity, which is then removed, so the reshape reads %arg0 directly.
// RUN: %kiln compile %s --passes=canonicalize,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.transpose"(%arg0) {kiln.name = "nchw_to_nhwc"
// CHECK: %[[T:.*]] = "kiln.transpose"(%arg0) {kiln.name = "composed", perm = array<i64: 0, 3, 2, 1>}
// CHECK: "kiln.reshape"(%arg0)
// CHECK: return %[[T]]
module {
  func.func @main(%arg0: tensor<1x2x3x4xf32> {kiln.name = "x"}) -> (tensor<1x4x3x2xf32> {kiln.name = "y"}, tensor<2x12xf32> {kiln.name = "z"}) {
    %0 = "kiln.transpose"(%arg0) {kiln.name = "nchw_to_nhwc", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x3x4xf32>) -> tensor<1x3x4x2xf32>
    %1 = "kiln.transpose"(%0) {kiln.name = "composed", perm = array<i64: 0, 2, 1, 3>} : (tensor<1x3x4x2xf32>) -> tensor<1x4x3x2xf32>
    %2 = "kiln.transpose"(%0) {kiln.name = "back", perm = array<i64: 0, 3, 1, 2>} : (tensor<1x3x4x2xf32>) -> tensor<1x2x3x4xf32>
    %3 = "kiln.reshape"(%2) {kiln.name = "flat"} : (tensor<1x2x3x4xf32>) -> tensor<2x12xf32>
    return %1, %3 : tensor<1x4x3x2xf32>, tensor<2x12xf32>
  }
}
