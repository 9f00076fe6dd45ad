// Guards: a fused kernel whose one epilogue stage is a common activation of the root
// (optionally plus a per-channel bias) runs it as one fused loop with the body's own
// operations in the body's order (epilogue.c; `kiln bench` appends the activation's
// name): sigmoid and SiLU in the exp form the importer writes, hardswish and
// hardsigmoid with their clamps in either order. A stage that multiplies by the sigmoid of
// another operand is not an activation of the root and stays on the evaluator. Numerics:
// compare_lit.py runs this file on the backend and the interpreter.
// RUN: %kiln bench %s --iterations 1 --warmup 1 --threads 1 | FileCheck %s
// CHECK: dispatch_0_matmul_16x32x8_f32 {{.*}} gemm f32_gemm_{{[a-z0-9_]+}}+1 silu{{$}}
// CHECK: dispatch_1_matmul_16x32x32_f32 {{.*}} gemm f32_gemm_{{[a-z0-9_]+}}+1 hardswish{{$}}
// CHECK: dispatch_2_matmul_16x32x32_f32 {{.*}} gemm f32_gemm_{{[a-z0-9_]+}}+1 sigmoid{{$}}
// CHECK: dispatch_3_matmul_16x32x32_f32 {{.*}} gemm f32_gemm_{{[a-z0-9_]+}}+1 hardsigmoid{{$}}
// CHECK: dispatch_4_matmul_16x32x32_f32 {{.*}} gemm f32_gemm_{{[a-z0-9_]+}}+1{{$}}
module {
  func.func @main(%arg0: tensor<16x8xf32> {kiln.name = "x"}, %arg1: tensor<16x32xf32> {kiln.name = "g"}) -> (tensor<16x32xf32> {kiln.name = "y"}) {
    %w0 = "kiln.constant"() {value = dense<0.3> : tensor<8x32xf32>, kiln.name = "w0"} : () -> tensor<8x32xf32>
    %b0 = "kiln.constant"() {value = dense<-0.2> : tensor<32xf32>, kiln.name = "b0"} : () -> tensor<32xf32>
    %w1 = "kiln.constant"() {value = dense<0.1> : tensor<32x32xf32>, kiln.name = "w1"} : () -> tensor<32x32xf32>
    %0 = "kiln.matmul"(%arg0, %w0) {kiln.name = "mm0"} : (tensor<16x8xf32>, tensor<8x32xf32>) -> tensor<16x32xf32>
    %1 = "kiln.generic"(%0, %b0) ({
    ^bb0(%in0: f32, %in1: f32, %out0: f32):
      %c0 = arith.addf %in0, %in1 : f32
      %c1 = arith.negf %c0 : f32
      %c2 = math.exp %c1 : f32
      %c3 = arith.constant 1.0e+00 : f32
      %c4 = arith.addf %c3, %c2 : f32
      %c5 = arith.divf %c3, %c4 : f32
      %c6 = arith.mulf %c0, %c5 : f32
      "kiln.yield"(%c6) : (f32) -> ()
    }) {kiln.name = "silu0", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<16x32xf32>, tensor<32xf32>) -> tensor<16x32xf32>
    %2 = "kiln.matmul"(%1, %w1) {kiln.name = "mm1"} : (tensor<16x32xf32>, tensor<32x32xf32>) -> tensor<16x32xf32>
    %3 = "kiln.generic"(%2) ({
    ^bb0(%in0: f32, %out0: f32):
      %c0 = arith.constant 5.0e-01 : f32
      %c1 = arith.constant 1.6666667e-01 : f32
      %c2 = arith.mulf %in0, %c1 : f32
      %c3 = arith.addf %c2, %c0 : f32
      %c4 = arith.constant 0.0e+00 : f32
      %c5 = arith.constant 1.0e+00 : f32
      %c6 = arith.minf %c3, %c5 : f32
      %c7 = arith.maxf %c6, %c4 : f32
      %c8 = arith.mulf %in0, %c7 : f32
      "kiln.yield"(%c8) : (f32) -> ()
    }) {kiln.name = "hardswish1", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<16x32xf32>) -> tensor<16x32xf32>
    %4 = "kiln.matmul"(%3, %w1) {kiln.name = "mm2"} : (tensor<16x32xf32>, tensor<32x32xf32>) -> tensor<16x32xf32>
    %5 = "kiln.generic"(%4) ({
    ^bb0(%in0: f32, %out0: f32):
      %c1 = arith.negf %in0 : f32
      %c2 = math.exp %c1 : f32
      %c3 = arith.constant 1.0e+00 : f32
      %c4 = arith.addf %c2, %c3 : f32
      %c5 = arith.divf %c3, %c4 : f32
      "kiln.yield"(%c5) : (f32) -> ()
    }) {kiln.name = "sigmoid2", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<16x32xf32>) -> tensor<16x32xf32>
    %6 = "kiln.matmul"(%5, %w1) {kiln.name = "mm3"} : (tensor<16x32xf32>, tensor<32x32xf32>) -> tensor<16x32xf32>
    %7 = "kiln.generic"(%6) ({
    ^bb0(%in0: f32, %out0: f32):
      %c0 = arith.constant 2.0e-01 : f32
      %c1 = arith.mulf %c0, %in0 : f32
      %c2 = arith.constant 5.0e-01 : f32
      %c3 = arith.addf %c2, %c1 : f32
      %c4 = arith.constant 0.0e+00 : f32
      %c5 = arith.maxf %c3, %c4 : f32
      %c6 = arith.constant 1.0e+00 : f32
      %c7 = arith.minf %c6, %c5 : f32
      "kiln.yield"(%c7) : (f32) -> ()
    }) {kiln.name = "hardsigmoid3", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<16x32xf32>) -> tensor<16x32xf32>
    %8 = "kiln.matmul"(%7, %w1) {kiln.name = "mm4"} : (tensor<16x32xf32>, tensor<32x32xf32>) -> tensor<16x32xf32>
    %9 = "kiln.generic"(%8, %arg1) ({
    ^bb0(%in0: f32, %in1: f32, %out0: f32):
      %c1 = arith.negf %in1 : f32
      %c2 = math.exp %c1 : f32
      %c3 = arith.constant 1.0e+00 : f32
      %c4 = arith.addf %c3, %c2 : f32
      %c5 = arith.divf %c3, %c4 : f32
      %c6 = arith.mulf %in0, %c5 : f32
      "kiln.yield"(%c6) : (f32) -> ()
    }) {kiln.name = "gate4", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<16x32xf32>
    return %9 : tensor<16x32xf32>
  }
}
