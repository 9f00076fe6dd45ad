// Guards: a 3x3 stride-1 conv with at least 32 output tiles of 4x4 and 16 channels in and
// out (26x26x16 -> 16: 49 tiles, the last row and column of them partial) runs as F(4x4, 3x3) Winograd, its bias, skip connection
// and relu in the output transform's epilogue (+0); a stride-2 3x3 conv stays direct, and
// so do 3x3 convs on 13x13 (16 tiles) and 8x8 (4 tiles) maps. Numerics: compare_lit.py runs this file
// on the backend and the interpreter (Winograd rounds a little more than the direct sum;
// both stay within the fp32 tolerance).
// RUN: %kiln bench %s --iterations 1 --warmup 1 --threads 2 | FileCheck %s
// CHECK: dispatch_0_conv_nhwc_3x3_1x26x26x16_f32 {{.*}} winograd f32_gemm_{{[a-z0-9_]+}}+0
// CHECK: dispatch_1_conv_nhwc_3x3_1x13x13x16_f32 {{.*}} conv f32_conv_{{[a-z0-9_]+}}+0
// CHECK: dispatch_2_conv_nhwc_3x3_1x13x13x16_f32 {{.*}} conv f32_conv_{{[a-z0-9_]+}}+0
// CHECK: dispatch_3_conv_nhwc_3x3_1x8x8x16_f32 {{.*}} conv f32_conv_{{[a-z0-9_]+}}+0
module {
  func.func @main(%arg0: tensor<1x26x26x16xf32> {kiln.name = "x"}, %arg1: tensor<1x8x8x16xf32> {kiln.name = "small"}) -> (tensor<1x13x13x16xf32> {kiln.name = "y"}, tensor<1x8x8x16xf32> {kiln.name = "z"}) {
    %w0 = "kiln.constant"() {value = dense<0.02> : tensor<3x3x16x16xf32>, kiln.name = "w0"} : () -> tensor<3x3x16x16xf32>
    %b0 = "kiln.constant"() {value = dense<-0.1> : tensor<16xf32>, kiln.name = "b0"} : () -> tensor<16xf32>
    %w1 = "kiln.constant"() {value = dense<0.03> : tensor<3x3x16x16xf32>, kiln.name = "w1"} : () -> tensor<3x3x16x16xf32>
    %w2 = "kiln.constant"() {value = dense<-0.01> : tensor<3x3x16x16xf32>, kiln.name = "w2"} : () -> tensor<3x3x16x16xf32>
    %0 = "kiln.conv_2d"(%arg0, %w0, %b0) {kiln.name = "wino", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x26x26x16xf32>, tensor<3x3x16x16xf32>, tensor<16xf32>) -> tensor<1x26x26x16xf32>
    %1 = "kiln.generic"(%0, %arg0) ({
    ^bb0(%in0: f32, %in1: f32, %out0: f32):
      %c0 = arith.addf %in0, %in1 : f32
      %c1 = arith.constant 0.0e+00 : f32
      %c2 = arith.maxf %c0, %c1 : f32
      "kiln.yield"(%c2) : (f32) -> ()
    }) {kiln.name = "skip_relu", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x26x26x16xf32>, tensor<1x26x26x16xf32>) -> tensor<1x26x26x16xf32>
    %2 = "kiln.conv_2d"(%1, %w1) {kiln.name = "strided", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x26x26x16xf32>, tensor<3x3x16x16xf32>) -> tensor<1x13x13x16xf32>
    %3 = "kiln.conv_2d"(%2, %w2) {kiln.name = "wino12", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x13x13x16xf32>, tensor<3x3x16x16xf32>) -> tensor<1x13x13x16xf32>
    %4 = "kiln.conv_2d"(%arg1, %w2) {kiln.name = "direct", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x8x8x16xf32>, tensor<3x3x16x16xf32>) -> tensor<1x8x8x16xf32>
    return %3, %4 : tensor<1x13x13x16xf32>, tensor<1x8x8x16xf32>
  }
}
