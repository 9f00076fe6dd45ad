// Guards: a transpose must sink through a reshape that keeps the moved dims intact (here
// H and W, consecutive in the NHWC source, merged into one), so it can go on to cancel;
// a reshape that would mix moved dims (merging C with H) must stop it.
// RUN: %kiln compile %s --passes=propagate-transposes,canonicalize,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[M:.*]] = "kiln.transpose"(%arg0) {kiln.name = "to_nchw"
// CHECK: %[[R:.*]] = "kiln.reshape"(%arg0) {{.*}} -> tensor<1x20x3xf32>
// CHECK: %[[T:.*]] = "kiln.transpose"(%[[R]]) {{{.*}}perm = array<i64: 0, 2, 1>}
// CHECK: "kiln.reshape"(%[[M]]) {{.*}} -> tensor<1x12x5xf32>
module {
  func.func @main(%arg0: tensor<1x4x5x3xf32> {kiln.name = "x_nhwc"}) -> (tensor<1x3x20xf32> {kiln.name = "hw_merged"}, tensor<1x12x5xf32> {kiln.name = "ch_merged"}) {
    %0 = "kiln.transpose"(%arg0) {kiln.name = "to_nchw", perm = array<i64: 0, 3, 1, 2>} : (tensor<1x4x5x3xf32>) -> tensor<1x3x4x5xf32>
    %1 = "kiln.reshape"(%0) {kiln.name = "merge_hw"} : (tensor<1x3x4x5xf32>) -> tensor<1x3x20xf32>
    %2 = "kiln.reshape"(%0) {kiln.name = "merge_ch"} : (tensor<1x3x4x5xf32>) -> tensor<1x12x5xf32>
    return %1, %2 : tensor<1x3x20xf32>, tensor<1x12x5xf32>
  }
}
