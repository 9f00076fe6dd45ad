// 8-bit elementwise stages as an int8 model has them: the input QuantizeLinear of f32
// tensors (u8 and s8), a QDQ residual add of a u8 and an s8 tensor, a requantize of one
// 8-bit tensor, a dequantize to f32. Each quantized tensor has several uses, so nothing
// fuses; the CPU backend runs the quantizes as plain loops and the others from tables
// of their bodies
// (epilogue.c), which tests/backend/compare_lit.py checks against the interpreter
// (integers exactly; 8192 elements, enough for the two-operand table).
// RUN: %kiln compile %s --passes=fuse-elementwise,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[A:.*]] = "kiln.generic"(%arg0)
// CHECK: arith.fptoui
// CHECK: %[[B:.*]] = "kiln.generic"(%arg1)
// CHECK: arith.fptosi
// CHECK: %[[S:.*]] = "kiln.generic"(%[[A]], %[[B]])
// CHECK: %[[R:.*]] = "kiln.generic"(%[[A]])
// CHECK: %[[D:.*]] = "kiln.generic"(%[[A]])
// CHECK: return %[[A]], %[[B]], %[[S]], %[[R]], %[[D]]
module {
  func.func @main(%arg0: tensor<1x16x16x32xf32> {kiln.name = "x"}, %arg1: tensor<1x16x16x32xf32> {kiln.name = "y"}) -> (tensor<1x16x16x32xui8> {kiln.name = "a"}, tensor<1x16x16x32xi8> {kiln.name = "b"}, tensor<1x16x16x32xui8> {kiln.name = "sum"}, tensor<1x16x16x32xi8> {kiln.name = "requant"}, tensor<1x16x16x32xf32> {kiln.name = "dequant"}) {
    %0 = "kiln.generic"(%arg0) ({
    ^bb0(%in0: f32, %out0: i8):
      %b0 = arith.constant 7.8125e-03 : f32
      %b1 = arith.constant {kiln.unsigned} 128 : i8
      %b2 = arith.divf %in0, %b0 : f32
      %b3 = math.roundeven %b2 : f32
      %b4 = arith.uitofp %b1 : i8 to f32
      %b5 = arith.addf %b3, %b4 : f32
      %b6 = arith.constant 2.55e+02 : f32
      %b7 = arith.constant 0.0e+00 : f32
      %b8 = arith.maxf %b5, %b7 : f32
      %b9 = arith.minf %b8, %b6 : f32
      %b10 = arith.fptoui %b9 {kiln.unsigned} : f32 to i8
      "kiln.yield"(%b10) : (i8) -> ()
    }) {kiln.name = "x_quantize", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x16x16x32xf32>) -> tensor<1x16x16x32xui8>
    %1 = "kiln.generic"(%arg1) ({
    ^bb0(%in0: f32, %out0: i8):
      %b0 = arith.constant 6.0e-03 : f32
      %b1 = arith.constant -3 : i8
      %b2 = arith.divf %in0, %b0 : f32
      %b3 = math.roundeven %b2 : f32
      %b4 = arith.sitofp %b1 : i8 to f32
      %b5 = arith.addf %b3, %b4 : f32
      %b6 = arith.constant 1.27e+02 : f32
      %b7 = arith.constant -1.28e+02 : f32
      %b8 = arith.minf %b5, %b6 : f32
      %b9 = arith.maxf %b8, %b7 : f32
      %b10 = arith.fptosi %b9 : f32 to i8
      "kiln.yield"(%b10) : (i8) -> ()
    }) {kiln.name = "y_quantize", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x16x16x32xf32>) -> tensor<1x16x16x32xi8>
    %2 = "kiln.generic"(%0, %1) ({
    ^bb0(%in0: i8, %in1: i8, %out0: i8):
      %b0 = arith.uitofp %in0 : i8 to f32
      %b1 = arith.constant {kiln.unsigned} 128 : i8
      %b2 = arith.uitofp %b1 : i8 to f32
      %b3 = arith.subf %b0, %b2 : f32
      %b4 = arith.constant 7.8125e-03 : f32
      %b5 = arith.mulf %b3, %b4 : f32
      %b6 = arith.sitofp %in1 : i8 to f32
      %b7 = arith.constant -3 : i8
      %b8 = arith.sitofp %b7 : i8 to f32
      %b9 = arith.subf %b6, %b8 : f32
      %b10 = arith.constant 6.0e-03 : f32
      %b11 = arith.mulf %b9, %b10 : f32
      %b12 = arith.addf %b5, %b11 : f32
      %b13 = arith.constant 1.1e-02 : f32
      %b14 = arith.divf %b12, %b13 : f32
      %b15 = math.roundeven %b14 : f32
      %b16 = arith.constant {kiln.unsigned} 120 : i8
      %b17 = arith.uitofp %b16 : i8 to f32
      %b18 = arith.addf %b15, %b17 : f32
      %b19 = arith.constant 2.55e+02 : f32
      %b20 = arith.constant 0.0e+00 : f32
      %b21 = arith.maxf %b18, %b20 : f32
      %b22 = arith.minf %b21, %b19 : f32
      %b23 = arith.fptoui %b22 {kiln.unsigned} : f32 to i8
      "kiln.yield"(%b23) : (i8) -> ()
    }) {kiln.name = "add_quantize", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x16x16x32xui8>, tensor<1x16x16x32xi8>) -> tensor<1x16x16x32xui8>
    %3 = "kiln.generic"(%0) ({
    ^bb0(%in0: i8, %out0: i8):
      %b0 = arith.uitofp %in0 : i8 to f32
      %b1 = arith.constant 1.28e+02 : f32
      %b2 = arith.subf %b0, %b1 : f32
      %b3 = arith.constant 7.8125e-03 : f32
      %b4 = arith.mulf %b2, %b3 : f32
      %b5 = arith.constant 3.0e-03 : f32
      %b6 = arith.divf %b4, %b5 : f32
      %b7 = math.roundeven %b6 : f32
      %b8 = arith.constant 1.27e+02 : f32
      %b9 = arith.constant -1.28e+02 : f32
      %b10 = arith.minf %b7, %b8 : f32
      %b11 = arith.maxf %b10, %b9 : f32
      %b12 = arith.fptosi %b11 : f32 to i8
      "kiln.yield"(%b12) : (i8) -> ()
    }) {kiln.name = "requantize", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x16x16x32xui8>) -> tensor<1x16x16x32xi8>
    %4 = "kiln.generic"(%0) ({
    ^bb0(%in0: i8, %out0: f32):
      %b0 = arith.uitofp %in0 : i8 to f32
      %b1 = arith.constant {kiln.unsigned} 128 : i8
      %b2 = arith.uitofp %b1 : i8 to f32
      %b3 = arith.subf %b0, %b2 : f32
      %b4 = arith.constant 7.8125e-03 : f32
      %b5 = arith.mulf %b3, %b4 : f32
      "kiln.yield"(%b5) : (f32) -> ()
    }) {kiln.name = "dequantize", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x16x16x32xui8>) -> tensor<1x16x16x32xf32>
    return %0, %1, %2, %3, %4 : tensor<1x16x16x32xui8>, tensor<1x16x16x32xi8>, tensor<1x16x16x32xui8>, tensor<1x16x16x32xi8>, tensor<1x16x16x32xf32>
  }
}
