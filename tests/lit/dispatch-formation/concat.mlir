// Guards: a concat of two conv results joins the region of its last-defined operand
// (conv_b's), which then writes the concat; the other conv's result is an operand of that
// region. The 1x1 conv reading the concat is a root of its own: 3 dispatches = 3 roots,
// no data-movement dispatch. A concat of graph inputs (nothing to join) stays a
// data-movement dispatch, explained as connecting only graph inputs and outputs.
// RUN: %kiln compile %s --passes=dce --form-dispatches --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s --passes=dce --json | FileCheck %s --check-prefix=JSON

// CHECK-LABEL: func.func @main
// CHECK: %[[A:.*]] = "kiln.dispatch"(%arg0, %{{.*}}) ({
// CHECK: "kiln.conv_2d"
// CHECK: kiln.name = "dispatch_0_conv_nhwc_1x1_1x4x4x3_f32"
// CHECK: %[[B:.*]] = "kiln.dispatch"(%arg0, %{{.*}}, %[[A]]) ({
// CHECK: "kiln.conv_2d"
// CHECK: "kiln.concat"
// CHECK: kiln.name = "dispatch_1_conv_nhwc_3x3_1x4x4x3_f32"
// CHECK: "kiln.dispatch"(%[[B]], %{{.*}})
// CHECK: "kiln.dispatch"(%arg0, %arg1) ({
// CHECK-NEXT: ^bb0
// CHECK-NEXT: "kiln.concat"
// CHECK: kiln.name = "dispatch_3_concat_1x4x4x4_f32"

// JSON: "dispatches": 4,
// JSON: "data_movement_dispatches": 1,
// JSON: "data_movement_explained": 1,
// JSON: "roots": 3,
module {
  func.func @main(%arg0: tensor<1x4x4x2xf32> {kiln.name = "x"}, %arg1: tensor<1x4x4x2xf32> {kiln.name = "x2"}) -> (tensor<1x4x4x2xf32> {kiln.name = "y"}, tensor<1x4x4x4xf32> {kiln.name = "z"}) {
    %w = "kiln.constant"() {value = dense<0.5> : tensor<1x1x2x3xf32>, kiln.name = "w"} : () -> tensor<1x1x2x3xf32>
    %v = "kiln.constant"() {value = dense<-0.25> : tensor<3x3x2x3xf32>, kiln.name = "v"} : () -> tensor<3x3x2x3xf32>
    %u = "kiln.constant"() {value = dense<0.125> : tensor<1x1x6x2xf32>, kiln.name = "u"} : () -> tensor<1x1x6x2xf32>
    %0 = "kiln.conv_2d"(%arg0, %w) {kiln.name = "conv_a", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x2xf32>, tensor<1x1x2x3xf32>) -> tensor<1x4x4x3xf32>
    %1 = "kiln.conv_2d"(%arg0, %v) {kiln.name = "conv_b", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x2xf32>, tensor<3x3x2x3xf32>) -> tensor<1x4x4x3xf32>
    %2 = "kiln.concat"(%0, %1) {kiln.name = "cat", axis = 3 : i64} : (tensor<1x4x4x3xf32>, tensor<1x4x4x3xf32>) -> tensor<1x4x4x6xf32>
    %3 = "kiln.conv_2d"(%2, %u) {kiln.name = "project", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x6xf32>, tensor<1x1x6x2xf32>) -> tensor<1x4x4x2xf32>
    %4 = "kiln.concat"(%arg0, %arg1) {kiln.name = "cat_inputs", axis = 3 : i64} : (tensor<1x4x4x2xf32>, tensor<1x4x4x2xf32>) -> tensor<1x4x4x4xf32>
    return %3, %4 : tensor<1x4x4x2xf32>, tensor<1x4x4x4xf32>
  }
}
