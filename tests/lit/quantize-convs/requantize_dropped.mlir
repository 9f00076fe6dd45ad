// Guards: Q(op(DQ(x))) with one set of parameters becomes op on the 8-bit tensor for a
// data-movement op: a constant pad pads with Q(value) (0.0 -> the zero point 3), a linear
// resize runs on uint8 in ONNX Runtime's fixed point (interp_resize.c). No float is left.
// No --verify-each: the fixed-point resize truncates where the float graph rounds (that is
// what ONNX Runtime's QDQ execution does), which moves small random values by one step;
// tests/import/qdq_resize.py checks these numbers against ONNX Runtime instead.
// RUN: %kiln compile %s --passes=quantize-convs,dce --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: "kiln.pad"(%arg0) {{.*}} pad_value = 3.0{{.*}} : (tensor<1x2x4x4xui8>) -> tensor<1x2x6x6xui8>
// CHECK: "kiln.resize"({{.*}}) {{.*}} : (tensor<1x2x6x6xui8>) -> tensor<1x2x12x12xui8>
// CHECK-NOT: xf32>
module {
  func.func @main(%arg0: tensor<1x2x4x4xui8> {kiln.name = "x"}) -> (tensor<1x2x12x12xui8> {kiln.name = "y"}) {
    %x = "kiln.generic"(%arg0) ({
    ^bb0(%a: i8, %o: f32):
      %f = arith.uitofp %a : i8 to f32
      %z = arith.constant 3.0 : f32
      %d = arith.subf %f, %z : f32
      %s = arith.constant 0.05 : f32
      %y = arith.mulf %d, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "x_dq", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x2x4x4xui8>) -> tensor<1x2x4x4xf32>
    %p = "kiln.pad"(%x) {kiln.name = "pad", pad_lo = array<i64: 0, 0, 1, 1>, pad_hi = array<i64: 0, 0, 1, 1>, pad_mode = "constant", pad_value = 0.0 : f64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x6x6xf32>
    %q = "kiln.generic"(%p) ({
    ^bb0(%a: f32, %o: i8):
      %s = arith.constant 0.05 : f32
      %d = arith.divf %a, %s : f32
      %r = math.roundeven %d : f32
      %z = arith.constant 3.0 : f32
      %v = arith.addf %r, %z : f32
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 255.0 : f32
      %m = arith.maxf %v, %lo : f32
      %c = arith.minf %m, %hi : f32
      %u = arith.fptoui %c {kiln.unsigned} : f32 to i8
      "kiln.yield"(%u) : (i8) -> ()
    }) {kiln.name = "pad_q", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xui8>
    %x2 = "kiln.generic"(%q) ({
    ^bb0(%a: i8, %o: f32):
      %f = arith.uitofp %a : i8 to f32
      %z = arith.constant 3.0 : f32
      %d = arith.subf %f, %z : f32
      %s = arith.constant 0.05 : f32
      %y = arith.mulf %d, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "q_dq", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x2x6x6xui8>) -> tensor<1x2x6x6xf32>
    %r = "kiln.resize"(%x2) {kiln.name = "resize", mode = "linear", coordinate_transformation_mode = "half_pixel", nearest_mode = "floor", cubic_coeff_a = -7.5e-01 : f64, scales = array<f64: 1.0, 1.0, 2.0, 2.0>} : (tensor<1x2x6x6xf32>) -> tensor<1x2x12x12xf32>
    %y = "kiln.generic"(%r) ({
    ^bb0(%a: f32, %o: i8):
      %s = arith.constant 0.05 : f32
      %d = arith.divf %a, %s : f32
      %rr = math.roundeven %d : f32
      %z = arith.constant 3.0 : f32
      %v = arith.addf %rr, %z : f32
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 255.0 : f32
      %m = arith.maxf %v, %lo : f32
      %c = arith.minf %m, %hi : f32
      %u = arith.fptoui %c {kiln.unsigned} : f32 to i8
      "kiln.yield"(%u) : (i8) -> ()
    }) {kiln.name = "y_q", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x2x12x12xf32>) -> tensor<1x2x12x12xui8>
    return %y : tensor<1x2x12x12xui8>
  }
}
