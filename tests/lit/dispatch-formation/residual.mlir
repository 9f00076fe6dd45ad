// Guards: a residual add y + conv_b(y), where y = relu(conv_a(x)) also feeds conv_b.
// The add fuses into conv_b's region (its other operand y comes from an earlier region).
// Even with --fuse-multi-use it must not join conv_a's region: its other operand is
// computed from that region's result (a cycle between dispatches) — the rule
// --why-not-fused names 'operand defined after the region'. Each dispatch dumps as a file
// that parses and passes --verify-each on its own.
// RUN: %kiln compile %s --passes=dce --form-dispatches --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s --passes=dce --fuse-multi-use --why-not-fused | FileCheck %s --check-prefix=WHY
// RUN: rm -rf %t && %kiln compile %s --passes=dce --dump-dispatches=%t
// RUN: %kiln compile %t/dispatch_1_conv_nhwc_3x3_1x4x4x2_f32.mlir --passes=dce --verify-each --emit-ir | FileCheck %s --check-prefix=DUMP

// CHECK-LABEL: func.func @main
// CHECK: %[[A:.*]] = "kiln.dispatch"(%arg0, %{{.*}}) ({
// CHECK: "kiln.conv_2d"
// CHECK: arith.maxf
// CHECK: kiln.name = "dispatch_0_conv_nhwc_1x1_1x4x4x2_f32"
// CHECK: %[[B:.*]] = "kiln.dispatch"(%[[A]], %{{.*}}) ({
// CHECK: "kiln.conv_2d"
// CHECK: arith.addf
// CHECK: kiln.name = "dispatch_1_conv_nhwc_3x3_1x4x4x2_f32"
// CHECK: return %[[B]]

// WHY: dispatches: 2
// WHY: generic(maxf) 'relu'
// WHY: generic(maxf) 'relu'
// WHY-NEXT: -> dispatch_1_conv_nhwc_3x3_1x4x4x2_f32: generic(addf) 'residual'
// WHY-NEXT: because operand defined after the region

// DUMP: func.func @dispatch_1_conv_nhwc_3x3_1x4x4x2_f32(%arg0: tensor<1x4x4x2xf32>, %arg1: tensor<3x3x2x2xf32> {kiln.name = "v"})
// DUMP: "kiln.conv_2d"(%arg0, %arg1)
// DUMP: arith.addf
module {
  func.func @main(%arg0: tensor<1x4x4x2xf32> {kiln.name = "x"}) -> (tensor<1x4x4x2xf32> {kiln.name = "out"}) {
    %w = "kiln.constant"() {value = dense<0.5> : tensor<1x1x2x2xf32>, kiln.name = "w"} : () -> tensor<1x1x2x2xf32>
    %v = "kiln.constant"() {value = dense<-0.25> : tensor<3x3x2x2xf32>, kiln.name = "v"} : () -> tensor<3x3x2x2xf32>
    %0 = "kiln.conv_2d"(%arg0, %w) {kiln.name = "conv_a", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x2xf32>, tensor<1x1x2x2xf32>) -> tensor<1x4x4x2xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%a: f32, %o: f32):
      %z = arith.constant 0.0 : f32
      %r = arith.maxf %a, %z : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "relu", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
    %2 = "kiln.conv_2d"(%1, %v) {kiln.name = "conv_b", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x2xf32>, tensor<3x3x2x2xf32>) -> tensor<1x4x4x2xf32>
    %3 = "kiln.generic"(%1, %2) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.addf %a, %b : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "residual", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x2xf32>, tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
    return %3 : tensor<1x4x4x2xf32>
  }
}
