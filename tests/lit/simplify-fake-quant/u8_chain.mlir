// Guards: the u8 fake-quant chain of a QDQ pair in one body (round, +zp, clamp to [0,255],
// fptoui, uitofp, -zp, *scale): the float -> u8 -> float round trip of a value proven
// integral and within [0, 255] becomes select(v != v, 0, v + 0) (NaN -> 0, -0 -> +0 like
// the casts), and the uitofp of the zero-point constant folds to a float constant. No
// integer instruction is left; --verify-each checks the numbers are unchanged.
// RUN: %kiln compile %s --passes=simplify-fake-quant --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: math.roundeven
// CHECK: arith.maxf
// CHECK: %[[V:.*]] = arith.minf
// CHECK: %[[Z:.*]] = arith.constant 0.0
// CHECK: %[[P:.*]] = arith.addf %[[V]], %[[Z]]
// CHECK: %[[NAN:.*]] = arith.cmpf une, %[[V]], %[[V]]
// CHECK: arith.select %[[NAN]], %[[Z]], %[[P]]
// CHECK-NOT: fptoui
// CHECK-NOT: uitofp
// CHECK: arith.mulf
module {
  func.func @main(%arg0: tensor<1x4x4x8xf32> {kiln.name = "x"}) -> (tensor<1x4x4x8xf32> {kiln.name = "y"}) {
    %0 = "kiln.generic"(%arg0) ({
    ^bb0(%a: f32, %o: f32):
      %s = arith.constant 0.05 : f32
      %zp = arith.constant {kiln.unsigned} 127 : i8
      %d = arith.divf %a, %s : f32
      %r = math.roundeven %d : f32
      %zf = arith.uitofp %zp : i8 to f32
      %sum = arith.addf %r, %zf : f32
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 255.0 : f32
      %m = arith.maxf %sum, %lo : f32
      %c = arith.minf %m, %hi : f32
      %q = arith.fptoui %c {kiln.unsigned} : f32 to i8
      %f = arith.uitofp %q : i8 to f32
      %zf2 = arith.uitofp %zp : i8 to f32
      %u = arith.subf %f, %zf2 : f32
      %y = arith.mulf %u, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "fake_quant", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    return %0 : tensor<1x4x4x8xf32>
  }
}
