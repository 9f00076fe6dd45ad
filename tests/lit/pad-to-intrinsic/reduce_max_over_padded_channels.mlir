// Guards: padded lanes never leak into a reduction over the padded dim. A conv with OC=3
// is padded to OC=4 (npu-4x4x8-c4); its bias (-10) and the +5 add after it flow on the
// padded shape, so the padded lane holds 0 + 0 + 5 = 5 while the true lanes are near -5.
// A ReduceMax over channels must read the slice back to 3 channels: without it the max
// would be 5 and --verify-each (interpreter before/after the pass) fails.
// RUN: %kiln compile %s --passes=pad-to-intrinsic,dce --target=npu-4x4x8-c4 --verify-each --emit-ir | FileCheck %s
// Padding adds no dispatch: conv + add are one dispatch, the slice is the reduction's read.
// RUN: %kiln report %s --target=npu-4x4x8-c4 --json | FileCheck %s --check-prefix=REPORT

// CHECK-LABEL: func.func @main
// CHECK: %[[C:.*]] = "kiln.conv_2d"(%arg0, %{{.*}}, %{{.*}}) {{.*}} : (tensor<1x4x4x8xf32>, tensor<3x3x8x4xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
// CHECK: %[[A:.*]] = "kiln.generic"(%[[C]])
// CHECK: arith.addf
// CHECK: (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
// CHECK: %[[S:.*]] = "kiln.extract_slice"(%[[A]]) {{.*}} : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x3xf32>
// CHECK: %[[R:.*]] = "kiln.generic"(%[[S]])
// CHECK: arith.maxf
// CHECK: return %[[R]]
// REPORT: "dispatches": 2,
// REPORT: "data_movement_dispatches": 0,
// REPORT: "roots": 2,
module {
  func.func @main(%arg0: tensor<1x4x4x8xf32> {kiln.name = "x"}) -> (tensor<1x4x4xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<0.1> : tensor<3x3x8x3xf32>, kiln.name = "w"} : () -> tensor<3x3x8x3xf32>
    %b = "kiln.constant"() {value = dense<[-10.0, -9.0, -11.0]> : tensor<3xf32>, kiln.name = "b"} : () -> tensor<3xf32>
    %0 = "kiln.conv_2d"(%arg0, %w, %b) {kiln.name = "conv", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x8xf32>, tensor<3x3x8x3xf32>, tensor<3xf32>) -> tensor<1x4x4x3xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%a: f32, %o: f32):
      %five = arith.constant 5.0 : f32
      %r = arith.addf %a, %five : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "plus5", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x3xf32>) -> tensor<1x4x4x3xf32>
    %2 = "kiln.generic"(%1) ({
    ^bb0(%a: f32, %acc: f32):
      %m = arith.maxf %acc, %a : f32
      "kiln.yield"(%m) : (f32) -> ()
    }) {kiln.name = "reduce_max", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"], init = [-1.0e+30]} : (tensor<1x4x4x3xf32>) -> tensor<1x4x4xf32>
    return %2 : tensor<1x4x4xf32>
  }
}
