// Guards: the CPU backend peels a dispatch's first elementwise stage into the GEMM or conv
// microkernel's register epilogue when it is clamp(root + channel vectors + at most one
// tensor of the root's shape): the vectors as one bias (two constants summed at
// lowering), the tensor (a ResNet block's skip connection) as the residual; the kernel
// then has no epilogue stage left (+0). A tensor read broadcast (not of the root's
// shape) stays a stage (+1). Numerics: compare_lit.py runs this file on the backend and
// the interpreter.
// RUN: %kiln bench %s --iterations 1 --warmup 1 --threads 1 | FileCheck %s
// CHECK: dispatch_0_matmul_16x32x8_f32 {{.*}} gemm f32_gemm_{{[a-z0-9_]+}}+0
// CHECK: dispatch_1_conv_nhwc_3x3_1x4x4x32_f32 {{.*}} conv f32_conv_{{[a-z0-9_]+}}+0
// CHECK: dispatch_2_matmul_16x32x32_f32 {{.*}} gemm f32_gemm_{{[a-z0-9_]+}}+1
module {
  func.func @main(%arg0: tensor<1x4x4x8xf32> {kiln.name = "x"}, %arg1: tensor<1x4x4x32xf32> {kiln.name = "skip"}, %arg2: tensor<1x1x4x32xf32> {kiln.name = "row"}) -> (tensor<1x4x4x32xf32> {kiln.name = "y"}) {
    %w0 = "kiln.constant"() {value = dense<0.2> : tensor<8x32xf32>, kiln.name = "w0"} : () -> tensor<8x32xf32>
    %b0 = "kiln.constant"() {value = dense<0.1> : tensor<32xf32>, kiln.name = "b0"} : () -> tensor<32xf32>
    %b1 = "kiln.constant"() {value = dense<-0.3> : tensor<32xf32>, kiln.name = "b1"} : () -> tensor<32xf32>
    %w1 = "kiln.constant"() {value = dense<0.05> : tensor<3x3x32x32xf32>, kiln.name = "w1"} : () -> tensor<3x3x32x32xf32>
    %cb = "kiln.constant"() {value = dense<0.01> : tensor<32xf32>, kiln.name = "cb"} : () -> tensor<32xf32>
    %w2 = "kiln.constant"() {value = dense<-0.1> : tensor<32x32xf32>, kiln.name = "w2"} : () -> tensor<32x32xf32>
    %0 = "kiln.reshape"(%arg0) {kiln.name = "rows0"} : (tensor<1x4x4x8xf32>) -> tensor<16x8xf32>
    %1 = "kiln.matmul"(%0, %w0) {kiln.name = "mm0"} : (tensor<16x8xf32>, tensor<8x32xf32>) -> tensor<16x32xf32>
    %2 = "kiln.reshape"(%1) {kiln.name = "nhwc0"} : (tensor<16x32xf32>) -> tensor<1x4x4x32xf32>
    %3 = "kiln.generic"(%2, %b0, %arg1, %b1) ({
    ^bb0(%in0: f32, %in1: f32, %in2: f32, %in3: f32, %out0: f32):
      %c0 = arith.addf %in2, %in3 : f32
      %c1 = arith.addf %in0, %in1 : f32
      %c2 = arith.addf %c1, %c0 : f32
      %c3 = arith.constant 0.0e+00 : f32
      %c4 = arith.maxf %c2, %c3 : f32
      "kiln.yield"(%c4) : (f32) -> ()
    }) {kiln.name = "add_relu0", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x32xf32>, tensor<32xf32>, tensor<1x4x4x32xf32>, tensor<32xf32>) -> tensor<1x4x4x32xf32>
    %4 = "kiln.conv_2d"(%3, %w1, %cb) {kiln.name = "conv1", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x32xf32>, tensor<3x3x32x32xf32>, tensor<32xf32>) -> tensor<1x4x4x32xf32>
    %5 = "kiln.generic"(%4, %3) ({
    ^bb0(%in0: f32, %in1: f32, %out0: f32):
      %c0 = arith.addf %in0, %in1 : f32
      %c1 = arith.constant 0.0e+00 : f32
      %c2 = arith.maxf %c0, %c1 : f32
      %c3 = arith.constant 6.0e+00 : f32
      %c4 = arith.minf %c2, %c3 : f32
      "kiln.yield"(%c4) : (f32) -> ()
    }) {kiln.name = "add_relu6_1", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x32xf32>, tensor<1x4x4x32xf32>) -> tensor<1x4x4x32xf32>
    %6 = "kiln.reshape"(%5) {kiln.name = "rows2"} : (tensor<1x4x4x32xf32>) -> tensor<16x32xf32>
    %7 = "kiln.matmul"(%6, %w2) {kiln.name = "mm2"} : (tensor<16x32xf32>, tensor<32x32xf32>) -> tensor<16x32xf32>
    %8 = "kiln.reshape"(%7) {kiln.name = "nhwc2"} : (tensor<16x32xf32>) -> tensor<1x4x4x32xf32>
    %9 = "kiln.generic"(%8, %arg2) ({
    ^bb0(%in0: f32, %in1: f32, %out0: f32):
      %c0 = arith.addf %in0, %in1 : f32
      "kiln.yield"(%c0) : (f32) -> ()
    }) {kiln.name = "add_row2", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (0, 0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x32xf32>, tensor<1x1x4x32xf32>) -> tensor<1x4x4x32xf32>
    return %9 : tensor<1x4x4x32xf32>
  }
}
