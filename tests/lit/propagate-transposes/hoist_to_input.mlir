// Guards: a transpose that follows a graph input through single-use unary elementwise
// generics only (an NCHW input's quantize and zero-point widening before the first NHWC
// conv) moves onto the input: it becomes a boundary transpose and the generics compute in
// the transposed layout. The numbers do not change (--verify-each).
// RUN: %kiln compile %s --passes=propagate-transposes --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[T:.*]] = "kiln.transpose"(%arg0) {{.*}} : (tensor<1x3x4x5xf32>) -> tensor<1x4x5x3xf32>
// CHECK: %[[Q:.*]] = "kiln.generic"(%[[T]])
// CHECK: -> tensor<1x4x5x3xui8>
// CHECK: "kiln.generic"(%[[Q]])
// CHECK: -> tensor<1x4x5x3xi32>
// CHECK-NOT: kiln.transpose
module {
  func.func @main(%arg0: tensor<1x3x4x5xf32> {kiln.name = "x"}) -> (tensor<1x4x5x3xi32> {kiln.name = "y"}) {
    %0 = "kiln.generic"(%arg0) ({
    ^bb0(%a: f32, %o: i8):
      %s = arith.constant 0.05 : f32
      %d = arith.divf %a, %s : f32
      %r = math.roundeven %d : f32
      %z = arith.constant 128.0 : f32
      %p = arith.addf %r, %z : f32
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 255.0 : f32
      %m = arith.maxf %p, %lo : f32
      %c = arith.minf %m, %hi : f32
      %q = arith.fptoui %c {kiln.unsigned} : f32 to i8
      "kiln.yield"(%q) : (i8) -> ()
    }) {kiln.name = "x_q", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x3x4x5xf32>) -> tensor<1x3x4x5xui8>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%a: i8, %o: i32):
      %w = arith.extui %a : i8 to i32
      %z = arith.constant 128 : i32
      %s = arith.subi %w, %z : i32
      "kiln.yield"(%s) : (i32) -> ()
    }) {kiln.name = "x_zp", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x3x4x5xui8>) -> tensor<1x3x4x5xi32>
    %2 = "kiln.transpose"(%1) {kiln.name = "to_nhwc", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x3x4x5xi32>) -> tensor<1x4x5x3xi32>
    return %2 : tensor<1x4x5x3xi32>
  }
}
