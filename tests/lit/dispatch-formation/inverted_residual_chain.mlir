// Guards: --fuse-conv-chains makes an inverted-residual block one dispatch: the 1x1 expand
// (a matmul after conv1x1-to-matmul) with its bias and relu6, the 3x3 depthwise with its
// relu6, the 1x1 project with its bias and the residual add. The region has three roots
// and is named after its depthwise; the wide expanded tensor (1x4x4x8) is not a result
// of the dispatch. Without the flag the block is three dispatches (one per root).
// RUN: %kiln compile %s --passes=conv1x1-to-matmul,fold-constants,dce --fuse-conv-chains --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s --passes=conv1x1-to-matmul,fold-constants,dce --json | FileCheck %s --check-prefix=NOCHAIN
// RUN: %kiln report %s --passes=conv1x1-to-matmul,fold-constants,dce --fuse-conv-chains | FileCheck %s --check-prefix=REPORT

// CHECK-LABEL: func.func @main
// CHECK: %[[D:.*]] = "kiln.dispatch"(%arg0, {{.*}}) ({
// CHECK: "kiln.matmul"
// CHECK: "kiln.depthwise_conv_2d"
// CHECK: "kiln.matmul"
// CHECK: arith.addf
// CHECK: "kiln.yield"(%{{[0-9]+}}) : (tensor<1x4x4x4xf32>) -> ()
// CHECK: kiln.name = "dispatch_0_conv_chain_depthwise_conv_nhwc_3x3_1x4x4x8_f32"
// CHECK-SAME: -> tensor<1x4x4x4xf32>
// CHECK-NOT: "kiln.dispatch"
// CHECK: return %[[D]]
// NOCHAIN: "dispatches": 3,
// NOCHAIN: "roots": 3,
// REPORT: dispatch_0_conv_chain_depthwise_conv_nhwc_3x3_1x4x4x8_f32 matmul+depthwise_conv_2d+matmul
// REPORT: dispatches: 1
// REPORT: roots (lower bound): 3
module {
  func.func @main(%arg0: tensor<1x4x4x4xf32> {kiln.name = "x"}) -> (tensor<1x4x4x4xf32> {kiln.name = "y"}) {
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
    return %5 : tensor<1x4x4x4xf32>
  }
}
