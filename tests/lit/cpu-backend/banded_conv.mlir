// Guards: a dilated 3x3 conv on a small map (an ASPP conv: dilation 4 on 9x9, 49% of its
// taps inside the input) runs banded (rectangles of pixels with the same valid taps, no
// padding read) once its bias and relu are peeled into the microkernel; the same conv
// with an epilogue stage left (a multiply by a tensor) runs on the plain direct kernel,
// and so does an undilated 3x3 'same' conv (96% of its taps valid). Numerics:
// compare_lit.py runs this file on the backend and the interpreter.
// RUN: %kiln bench %s --iterations 1 --warmup 1 --threads 2 | FileCheck %s
// CHECK: dispatch_0_conv_nhwc_3x3_1x9x9x16_f32 {{.*}} banded-conv f32_conv_{{[a-z0-9_]+}}+0
// CHECK: dispatch_1_conv_nhwc_3x3_1x9x9x16_f32 {{.*}} conv f32_conv_{{[a-z0-9_]+}}+1
// CHECK: dispatch_2_conv_nhwc_3x3_1x9x9x16_f32 {{.*}} conv f32_conv_{{[a-z0-9_]+}}+0
module {
  func.func @main(%arg0: tensor<1x9x9x8xf32> {kiln.name = "x"}, %arg1: tensor<1x9x9x16xf32> {kiln.name = "m"}) -> (tensor<1x9x9x16xf32> {kiln.name = "y"}) {
    %w0 = "kiln.constant"() {value = dense<0.05> : tensor<3x3x8x16xf32>, kiln.name = "w0"} : () -> tensor<3x3x8x16xf32>
    %b0 = "kiln.constant"() {value = dense<0.1> : tensor<16xf32>, kiln.name = "b0"} : () -> tensor<16xf32>
    %w1 = "kiln.constant"() {value = dense<-0.02> : tensor<3x3x16x16xf32>, kiln.name = "w1"} : () -> tensor<3x3x16x16xf32>
    %w2 = "kiln.constant"() {value = dense<0.03> : tensor<3x3x16x16xf32>, kiln.name = "w2"} : () -> tensor<3x3x16x16xf32>
    %0 = "kiln.conv_2d"(%arg0, %w0, %b0) {kiln.name = "aspp", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 4, 4>, pads = array<i64: 4, 4, 4, 4>, layout = "nhwc", groups = 1 : i64} : (tensor<1x9x9x8xf32>, tensor<3x3x8x16xf32>, tensor<16xf32>) -> tensor<1x9x9x16xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%in0: f32, %out0: f32):
      %c0 = arith.constant 0.0e+00 : f32
      %c1 = arith.maxf %in0, %c0 : f32
      "kiln.yield"(%c1) : (f32) -> ()
    }) {kiln.name = "relu0", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x9x9x16xf32>) -> tensor<1x9x9x16xf32>
    %2 = "kiln.conv_2d"(%1, %w1) {kiln.name = "aspp_scaled", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 4, 4>, pads = array<i64: 4, 4, 4, 4>, layout = "nhwc", groups = 1 : i64} : (tensor<1x9x9x16xf32>, tensor<3x3x16x16xf32>) -> tensor<1x9x9x16xf32>
    %3 = "kiln.generic"(%2, %arg1) ({
    ^bb0(%in0: f32, %in1: f32, %out0: f32):
      %c0 = arith.mulf %in0, %in1 : f32
      "kiln.yield"(%c0) : (f32) -> ()
    }) {kiln.name = "scale1", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x9x9x16xf32>, tensor<1x9x9x16xf32>) -> tensor<1x9x9x16xf32>
    %4 = "kiln.conv_2d"(%3, %w2) {kiln.name = "same", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x9x9x16xf32>, tensor<3x3x16x16xf32>) -> tensor<1x9x9x16xf32>
    return %4 : tensor<1x9x9x16xf32>
  }
}
