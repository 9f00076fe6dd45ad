// Guards: the chain leaves out an expand whose wide result is also used elsewhere (here it
// is a second graph output): the expand stays its own dispatch, so merging it would not
// keep the wide tensor out of memory. Depthwise + project still form one chain.
// RUN: %kiln compile %s --passes=conv1x1-to-matmul,fold-constants,dce --fuse-conv-chains --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s --passes=conv1x1-to-matmul,fold-constants,dce --fuse-conv-chains | FileCheck %s --check-prefix=REPORT

// CHECK-LABEL: func.func @main
// CHECK: "kiln.dispatch"
// CHECK: "kiln.matmul"
// CHECK-NOT: "kiln.depthwise_conv_2d"
// CHECK: kiln.name = "dispatch_0_matmul_16x8x4_f32"
// CHECK: "kiln.dispatch"
// CHECK: "kiln.depthwise_conv_2d"
// CHECK: "kiln.matmul"
// CHECK: kiln.name = "dispatch_1_conv_chain_depthwise_conv_nhwc_3x3_1x4x4x8_f32"
// REPORT: depthwise_conv_2d+matmul
// REPORT: dispatches: 2
module {
  func.func @main(%arg0: tensor<1x4x4x4xf32> {kiln.name = "x"}) -> (tensor<1x4x4x4xf32> {kiln.name = "y"}, tensor<1x4x4x8xf32> {kiln.name = "wide"}) {
    %we = "kiln.constant"() {value = dense<0.2> : tensor<1x1x4x8xf32>, kiln.name = "w_expand"} : () -> tensor<1x1x4x8xf32>
    %be = "kiln.constant"() {value = dense<0.1> : tensor<8xf32>, kiln.name = "b_expand"} : () -> tensor<8xf32>
    %wd = "kiln.constant"() {value = dense<0.3> : tensor<3x3x8xf32>, kiln.name = "w_dw"} : () -> tensor<3x3x8xf32>
    %wp = "kiln.constant"() {value = dense<-0.25> : tensor<1x1x8x4xf32>, kiln.name = "w_project"} : () -> tensor<1x1x8x4xf32>
    %bp = "kiln.constant"() {value = dense<[0.5, -0.5, 1.0, 0.0]> : tensor<4xf32>, kiln.name = "b_project"} : () -> tensor<4xf32>
    %0 = "kiln.conv_2d"(%arg0, %we, %be) {kiln.name = "expand", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x4xf32>, tensor<1x1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%a: f32, %o: f32):
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 6.0 : f32
      %m = arith.maxf %a, %lo : f32
      %r = arith.minf %m, %hi : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "relu6_expand", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %2 = "kiln.depthwise_conv_2d"(%1, %wd) {kiln.name = "dw", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc"} : (tensor<1x4x4x8xf32>, tensor<3x3x8xf32>) -> tensor<1x4x4x8xf32>
    %3 = "kiln.generic"(%2) ({
    ^bb0(%a: f32, %o: f32):
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 6.0 : f32
      %m = arith.maxf %a, %lo : f32
      %r = arith.minf %m, %hi : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "relu6_dw", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %4 = "kiln.conv_2d"(%3, %wp, %bp) {kiln.name = "project", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x8xf32>, tensor<1x1x8x4xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
    %5 = "kiln.generic"(%4, %arg0) ({
    ^bb0(%a: f32, %c: f32, %o: f32):
      %r = arith.addf %a, %c : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "residual", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    return %5, %1 : tensor<1x4x4x4xf32>, tensor<1x4x4x8xf32>
  }
}
