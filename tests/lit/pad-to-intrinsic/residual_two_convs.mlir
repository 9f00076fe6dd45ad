// Guards: the padded shape flows through a residual add and a second conv reads true
// values. conv1 (IC and OC 6 -> 8 on x86-avx2) + bias flows padded into the add, whose other
// operand (the graph input, a residual) gets a zero kiln.pad; the slice back happens
// once, where conv2 needs the true shape, and conv2 pads it again with zeros (IC 6 -> 8)
// instead of reading the add's padded lanes. The graph output is sliced back too.
// Padding adds no dispatch: two roots, two dispatches.
// RUN: %kiln compile %s --passes=pad-to-intrinsic,dce --target=x86-avx2 --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s --target=x86-avx2 --json | FileCheck %s --check-prefix=REPORT

// CHECK-LABEL: func.func @main
// CHECK: %[[X:.*]] = "kiln.pad"(%arg0) {{.*}} -> tensor<1x4x4x8xf32>
// CHECK: %[[C1:.*]] = "kiln.conv_2d"(%[[X]], {{.*}} -> tensor<1x4x4x8xf32>
// CHECK: %[[R:.*]] = "kiln.pad"(%arg0) {{.*}} -> tensor<1x4x4x8xf32>
// CHECK: %[[ADD:.*]] = "kiln.generic"(%[[C1]], %[[R]])
// CHECK: %[[S:.*]] = "kiln.extract_slice"(%[[ADD]]) {{.*}} -> tensor<1x4x4x6xf32>
// CHECK: %[[P:.*]] = "kiln.pad"(%[[S]]) {{.*}} -> tensor<1x4x4x8xf32>
// CHECK: %[[C2:.*]] = "kiln.conv_2d"(%[[P]], {{.*}} -> tensor<1x4x4x8xf32>
// CHECK: %[[OUT:.*]] = "kiln.extract_slice"(%[[C2]]) {{.*}} -> tensor<1x4x4x6xf32>
// CHECK: return %[[OUT]]
// REPORT: "dispatches": 2,
// REPORT: "data_movement_dispatches": 0,
module {
  func.func @main(%arg0: tensor<1x4x4x6xf32> {kiln.name = "x"}) -> (tensor<1x4x4x6xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<0.1> : tensor<3x3x6x6xf32>, kiln.name = "w"} : () -> tensor<3x3x6x6xf32>
    %b = "kiln.constant"() {value = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : tensor<6xf32>, kiln.name = "b"} : () -> tensor<6xf32>
    %w2 = "kiln.constant"() {value = dense<-0.05> : tensor<1x1x6x6xf32>, kiln.name = "w2"} : () -> tensor<1x1x6x6xf32>
    %0 = "kiln.conv_2d"(%arg0, %w, %b) {kiln.name = "conv1", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x6xf32>, tensor<3x3x6x6xf32>, tensor<6xf32>) -> tensor<1x4x4x6xf32>
    %1 = "kiln.generic"(%0, %arg0) ({
    ^bb0(%a: f32, %c: f32, %o: f32):
      %r = arith.addf %a, %c : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "residual", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x6xf32>, tensor<1x4x4x6xf32>) -> tensor<1x4x4x6xf32>
    %2 = "kiln.conv_2d"(%1, %w2) {kiln.name = "conv2", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x6xf32>, tensor<1x1x6x6xf32>) -> tensor<1x4x4x6xf32>
    return %2 : tensor<1x4x4x6xf32>
  }
}
