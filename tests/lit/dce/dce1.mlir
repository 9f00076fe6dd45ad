// Guards: a dead chain (an op whose only user is itself dead) must go in one run, while
// ops feeding the returned value stay.
// RUN: %kiln compile %s --passes=dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: "dead_a"
// CHECK-NOT: "dead_b"
// CHECK: kiln.name = "live"
// CHECK: return
module {
  func.func @main(%arg0: tensor<2x3xf32> {kiln.name = "x"}) -> (tensor<3x2xf32> {kiln.name = "y"}) {
    %0 = "kiln.transpose"(%arg0) {kiln.name = "dead_a", perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
    %1 = "kiln.transpose"(%0) {kiln.name = "dead_b", perm = array<i64: 1, 0>} : (tensor<3x2xf32>) -> tensor<2x3xf32>
    %2 = "kiln.transpose"(%arg0) {kiln.name = "live", perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
    return %2 : tensor<3x2xf32>
  }
}
