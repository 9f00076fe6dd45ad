// Guards: the pad stays where sinking would not be a pure rewrite: the padded value is
// also returned (two uses), and a generic that reads the pad and another tensor (the
// padded lanes would meet real data of the other operand). A pad of 1.0 through an
// elementwise op whose body maps 1.0 to 3.0 becomes a pad of 3.0 (value through the body).
// RUN: %kiln compile %s --passes=sink-pads --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[P:.*]] = "kiln.pad"(%arg0)
// CHECK: "kiln.generic"(%[[P]], %arg1)
// CHECK: %[[G:.*]] = "kiln.generic"(%arg0)
// CHECK: "kiln.pad"(%[[G]])
// CHECK-SAME: pad_value = 3.0
module {
  func.func @main(%arg0: tensor<1x4x4x2xf32> {kiln.name = "x"}, %arg1: tensor<1x6x6x2xf32> {kiln.name = "z"}) -> (tensor<1x6x6x2xf32> {kiln.name = "a"}, tensor<1x6x6x2xf32> {kiln.name = "b"}, tensor<1x6x6x2xf32> {kiln.name = "c"}) {
    %p = "kiln.pad"(%arg0) {kiln.name = "pad_two_uses", pad_lo = array<i64: 0, 1, 1, 0>, pad_hi = array<i64: 0, 1, 1, 0>, pad_mode = "constant", pad_value = 0.0 : f64} : (tensor<1x4x4x2xf32>) -> tensor<1x6x6x2xf32>
    %s = "kiln.generic"(%p, %arg1) ({
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.addf %a, %b : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "two_operands", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x6x6x2xf32>, tensor<1x6x6x2xf32>) -> tensor<1x6x6x2xf32>
    %p1 = "kiln.pad"(%arg0) {kiln.name = "pad_one", pad_lo = array<i64: 0, 1, 1, 0>, pad_hi = array<i64: 0, 1, 1, 0>, pad_mode = "constant", pad_value = 1.0 : f64} : (tensor<1x4x4x2xf32>) -> tensor<1x6x6x2xf32>
    %t = "kiln.generic"(%p1) ({
    ^bb0(%a: f32, %o: f32):
      %two = arith.constant 2.0 : f32
      %m = arith.mulf %a, %two : f32
      %one = arith.constant 1.0 : f32
      %r = arith.addf %m, %one : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "times_two_plus_one", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x6x6x2xf32>) -> tensor<1x6x6x2xf32>
    return %p, %s, %t : tensor<1x6x6x2xf32>, tensor<1x6x6x2xf32>, tensor<1x6x6x2xf32>
  }
}
