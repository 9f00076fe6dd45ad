// Guards: a unit-dim reshape sinks through the elementwise generic but stops at the
// named op behind it (the conv reads the reshape, now right in front of it), and a
// reshape that is also a function result stays for that use while its generic user
// still gets the operand without the reshape.
// RUN: %kiln compile %s --passes=propagate-reshapes,canonicalize,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[K:.*]] = "kiln.reshape"(%arg0) {{.*}} : (tensor<4x4x3xf32>) -> tensor<1x4x4x3xf32>
// CHECK: %[[G:.*]] = "kiln.generic"(%arg0)
// CHECK: (tensor<4x4x3xf32>) -> tensor<4x4x3xf32>
// CHECK: %[[R:.*]] = "kiln.reshape"(%[[G]]) {{.*}} : (tensor<4x4x3xf32>) -> tensor<1x4x4x3xf32>
// CHECK: %[[C:.*]] = "kiln.conv_2d"(%[[R]], %arg1)
// CHECK: return %[[C]], %[[K]]
module {
  func.func @main(%arg0: tensor<4x4x3xf32> {kiln.name = "x"}, %arg1: tensor<1x1x3x2xf32> {kiln.name = "w"}) -> (tensor<1x4x4x2xf32> {kiln.name = "y"}, tensor<1x4x4x3xf32> {kiln.name = "x4"}) {
    %0 = "kiln.reshape"(%arg0) {kiln.name = "add_n"} : (tensor<4x4x3xf32>) -> tensor<1x4x4x3xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%a: f32, %o: f32):
      %z = arith.constant 0.0 : f32
      %m = arith.maxf %a, %z : f32
      "kiln.yield"(%m) : (f32) -> ()
    }) {kiln.name = "relu", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x3xf32>) -> tensor<1x4x4x3xf32>
    %2 = "kiln.conv_2d"(%1, %arg1) {kiln.name = "conv", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x3xf32>, tensor<1x1x3x2xf32>) -> tensor<1x4x4x2xf32>
    return %2, %0 : tensor<1x4x4x2xf32>, tensor<1x4x4x3xf32>
  }
}
