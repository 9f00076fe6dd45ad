// Guards: an elementwise op with two uses, each a conv (two regions). By default it is not
// fused (recomputing it is a choice) and becomes a dispatch of its own, which computes,
// so it is not data movement; --why-not-fused names the rule. With --fuse-multi-use it is
// cloned into both conv regions: two dispatches, numerically the same.
// RUN: %kiln compile %s --passes=dce --form-dispatches --verify-each --emit-ir | FileCheck %s
// RUN: %kiln compile %s --passes=dce --fuse-multi-use --verify-each --emit-ir | FileCheck %s --check-prefix=MULTI
// RUN: %kiln report %s --passes=dce --why-not-fused | FileCheck %s --check-prefix=WHY

// CHECK-LABEL: func.func @main
// CHECK: %[[E:.*]] = "kiln.dispatch"(%arg0) ({
// CHECK: arith.negf
// CHECK: kiln.name = "dispatch_0_elementwise_1x4x4x2_f32"
// CHECK: "kiln.dispatch"(%[[E]], %{{.*}})
// CHECK: "kiln.dispatch"(%[[E]], %{{.*}})
// CHECK-NOT: "kiln.dispatch"

// MULTI-LABEL: func.func @main
// MULTI: "kiln.dispatch"(%arg0, %{{.*}}) ({
// MULTI: arith.negf
// MULTI: "kiln.conv_2d"
// MULTI: "kiln.dispatch"(%arg0, %{{.*}}) ({
// MULTI: arith.negf
// MULTI: "kiln.conv_2d"
// MULTI-NOT: "kiln.dispatch"

// WHY: dispatches: 3
// WHY: roots (lower bound): 2
// WHY: data-movement dispatches: 0
// WHY: why not fused (2 edges between dispatches):
// WHY: because producer has 2 uses outside the region (--fuse-multi-use clones it)
module {
  func.func @main(%arg0: tensor<1x4x4x2xf32> {kiln.name = "x"}) -> (tensor<1x4x4x3xf32> {kiln.name = "y"}, tensor<1x4x4x3xf32> {kiln.name = "z"}) {
    %w = "kiln.constant"() {value = dense<0.5> : tensor<1x1x2x3xf32>, kiln.name = "w"} : () -> tensor<1x1x2x3xf32>
    %v = "kiln.constant"() {value = dense<-0.25> : tensor<3x3x2x3xf32>, kiln.name = "v"} : () -> tensor<3x3x2x3xf32>
    %0 = "kiln.generic"(%arg0) ({
    ^bb0(%a: f32, %o: f32):
      %n = arith.negf %a : f32
      "kiln.yield"(%n) : (f32) -> ()
    }) {kiln.name = "neg", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
    %1 = "kiln.conv_2d"(%0, %w) {kiln.name = "conv_a", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x2xf32>, tensor<1x1x2x3xf32>) -> tensor<1x4x4x3xf32>
    %2 = "kiln.conv_2d"(%0, %v) {kiln.name = "conv_b", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x2xf32>, tensor<3x3x2x3xf32>) -> tensor<1x4x4x3xf32>
    return %1, %2 : tensor<1x4x4x3xf32>, tensor<1x4x4x3xf32>
  }
}
