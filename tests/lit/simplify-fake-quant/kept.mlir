// Guards: the round trip is kept when the value is not proven within the int type: here
// the clamp is to [-200, 200], wider than i8, so fptosi saturates and the casts stay; and
// when the value is not proven integral (no rounding before the cast: truncation matters).
// RUN: %kiln compile %s --passes=simplify-fake-quant --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: arith.fptosi
// CHECK: arith.sitofp
// CHECK: arith.fptosi
// CHECK: arith.sitofp
module {
  func.func @main(%arg0: tensor<1x4x4x8xf32> {kiln.name = "x"}) -> (tensor<1x4x4x8xf32> {kiln.name = "y"}) {
    %0 = "kiln.generic"(%arg0) ({
    ^bb0(%a: f32, %o: f32):
      %s = arith.constant 0.01 : f32
      %d = arith.divf %a, %s : f32
      %r = math.roundeven %d : f32
      %lo = arith.constant -200.0 : f32
      %hi = arith.constant 200.0 : f32
      %m = arith.maxf %r, %lo : f32
      %c = arith.minf %m, %hi : f32
      %q = arith.fptosi %c : f32 to i8
      %f = arith.sitofp %q : i8 to f32
      %t = arith.fptosi %d : f32 to i8
      %g = arith.sitofp %t : i8 to f32
      %y = arith.addf %f, %g : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "not_provable", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    return %0 : tensor<1x4x4x8xf32>
  }
}
