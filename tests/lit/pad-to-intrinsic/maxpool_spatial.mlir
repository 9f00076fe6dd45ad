// Guards: spatial padding (npu-4x4x8-c4: OH to a multiple of the 4 cores, OW of 4) never
// leaks into a max pool. The 5x5 conv output is computed as 8x8 (the activation gets a
// zero kiln.pad of 3 rows and 3 columns at the bottom/right, and 3 -> 8 input channels)
// and relu6(x + 5 - b) flows on 8x8x4; b is padded with 0, so the padded channel holds
// relu6(0 + 5 - 0) = 5 while the true lanes are relu6(about -5) = 0: a max pool reading
// a padded lane would change the result (--verify-each).
// RUN: %kiln compile %s --passes=pad-to-intrinsic,dce --target=npu-4x4x8-c4 --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s --target=npu-4x4x8-c4 --json | FileCheck %s --check-prefix=REPORT

// CHECK-LABEL: func.func @main
// CHECK: %[[P:.*]] = "kiln.pad"(%arg0) {{.*}} pad_hi = array<i64: 0, 3, 3, 5>{{.*}} : (tensor<1x5x5x3xf32>) -> tensor<1x8x8x8xf32>
// CHECK: %[[C:.*]] = "kiln.conv_2d"(%[[P]], {{.*}} -> tensor<1x8x8x4xf32>
// CHECK: %[[R:.*]] = "kiln.generic"(%[[C]], %{{.*}})
// CHECK: arith.minf
// CHECK: %[[S:.*]] = "kiln.extract_slice"(%[[R]]) {{.*}} : (tensor<1x8x8x4xf32>) -> tensor<1x5x5x3xf32>
// CHECK: "kiln.pooling"(%[[S]])
// REPORT: "dispatches": 2,
// REPORT: "data_movement_dispatches": 0,
module {
  func.func @main(%arg0: tensor<1x5x5x3xf32> {kiln.name = "x"}) -> (tensor<1x2x2x3xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<0.1> : tensor<3x3x3x3xf32>, kiln.name = "w"} : () -> tensor<3x3x3x3xf32>
    %b = "kiln.constant"() {value = dense<[10.0, 10.5, 11.0]> : tensor<3xf32>, kiln.name = "b"} : () -> tensor<3xf32>
    %0 = "kiln.conv_2d"(%arg0, %w) {kiln.name = "conv", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x5x5x3xf32>, tensor<3x3x3x3xf32>) -> tensor<1x5x5x3xf32>
    %1 = "kiln.generic"(%0, %b) ({
    ^bb0(%a: f32, %c: f32, %o: f32):
      %five = arith.constant 5.0 : f32
      %a5 = arith.addf %a, %five : f32
      %s = arith.subf %a5, %c : f32
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 6.0 : f32
      %m = arith.maxf %s, %lo : f32
      %r = arith.minf %m, %hi : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "sub_relu6", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x5x5x3xf32>, tensor<3xf32>) -> tensor<1x5x5x3xf32>
    %2 = "kiln.pooling"(%1) {kiln.name = "max", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", pool_kind = "max", count_include_pad = false} : (tensor<1x5x5x3xf32>) -> tensor<1x2x2x3xf32>
    return %2 : tensor<1x2x2x3xf32>
  }
}
