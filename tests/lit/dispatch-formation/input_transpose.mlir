// Guards: a transpose at a graph input whose result feeds two convs cannot fuse into
// either by default (it has two uses): it stays a data-movement dispatch of its own, the
// report counts it and --why-not-fused explains it. With --fuse-multi-use the transpose
// is cloned into both conv regions and no data-movement dispatch is left.
// RUN: %kiln compile %s --passes=dce --form-dispatches --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s --passes=dce --why-not-fused | FileCheck %s --check-prefix=WHY
// RUN: %kiln report %s --passes=dce --fuse-multi-use --json | FileCheck %s --check-prefix=MULTI

// CHECK-LABEL: func.func @main
// CHECK: %[[T:.*]] = "kiln.dispatch"(%arg0) ({
// CHECK-NEXT: ^bb0
// CHECK-NEXT: "kiln.transpose"
// CHECK: kiln.name = "dispatch_0_transpose_1x4x4x2_f32"
// CHECK: "kiln.dispatch"(%[[T]], %{{.*}})
// CHECK: "kiln.dispatch"(%[[T]], %{{.*}})

// WHY: [data movement] transpose
// WHY: dispatches: 3
// WHY: data-movement dispatches: 1 (1 explained by --why-not-fused)
// WHY: dispatch_0_transpose_1x4x4x2_f32: transpose 'to_nhwc'
// WHY-NEXT: -> dispatch_1_conv_nhwc_1x1_1x4x4x3_f32: conv_2d 'conv_a'
// WHY-NEXT: because producer has 2 uses outside the region (--fuse-multi-use clones it)

// MULTI: "dispatches": 2,
// MULTI: "data_movement_dispatches": 0,
// MULTI: "roots": 2,
module {
  func.func @main(%arg0: tensor<1x2x4x4xf32> {kiln.name = "x_nchw"}) -> (tensor<1x4x4x3xf32> {kiln.name = "y"}, tensor<1x4x4x3xf32> {kiln.name = "z"}) {
    %w = "kiln.constant"() {value = dense<0.5> : tensor<1x1x2x3xf32>, kiln.name = "w"} : () -> tensor<1x1x2x3xf32>
    %v = "kiln.constant"() {value = dense<-0.25> : tensor<3x3x2x3xf32>, kiln.name = "v"} : () -> tensor<3x3x2x3xf32>
    %0 = "kiln.transpose"(%arg0) {kiln.name = "to_nhwc", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> tensor<1x4x4x2xf32>
    %1 = "kiln.conv_2d"(%0, %w) {kiln.name = "conv_a", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x2xf32>, tensor<1x1x2x3xf32>) -> tensor<1x4x4x3xf32>
    %2 = "kiln.conv_2d"(%0, %v) {kiln.name = "conv_b", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x2xf32>, tensor<3x3x2x3xf32>) -> tensor<1x4x4x3xf32>
    return %1, %2 : tensor<1x4x4x3xf32>, tensor<1x4x4x3xf32>
  }
}
