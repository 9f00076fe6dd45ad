// Guards: a Relu/Clip between the conv and the Q (clip to [0, 0.5], a Q of scale 0.004 and
// zero point 10) no longer keeps the unit in float: the integer conv and its requantize,
// then a clamp of the 8-bit values to [Q(0), Q(0.5)] = [10, 135] (Q is monotone, so
// Q(clamp(v)) = clamp(Q(v))); the f32 clip is gone.
// RUN: %kiln compile %s --passes=quantize-convs,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: "kiln.conv_2d"({{.*}}) {{.*}} -> tensor<1x4x6x6xi32>
// CHECK: math.roundeven
// CHECK: arith.fptoui
// CHECK: ^bb0(%in0: i8, %out0: i8):
// CHECK: arith.constant 1.0e+01 : f32
// CHECK: arith.maxf
// CHECK: arith.constant 1.35e+02 : f32
// CHECK: arith.minf
// CHECK-NOT: xf32>
module {
  func.func @main(%arg0: tensor<1x8x6x6xui8> {kiln.name = "x"}) -> (tensor<1x4x6x6xui8> {kiln.name = "y"}) {
    %x = "kiln.generic"(%arg0) ({
    ^bb0(%a: i8, %o: f32):
      %f = arith.uitofp %a : i8 to f32
      %z = arith.constant 3.0 : f32
      %d = arith.subf %f, %z : f32
      %s = arith.constant 0.05000000074505806 : f32
      %y = arith.mulf %d, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "x_dq", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x8x6x6xui8>) -> tensor<1x8x6x6xf32>
    %w8 = "kiln.constant"() {value = dense<[[[[79, -106, -82], [-67, -81, 77], [94, 21, -117]], [[-103, -43, -17], [31, -5, -60], [-87, 49, 60]], [[-119, -99, -12], [-28, 99, 4], [-20, -18, 42]], [[22, -83, 61], [65, 116, 73], [-55, -46, 38]], [[38, 50, 94], [-53, 112, -127], [-108, 121, 113]], [[-51, -92, -47], [-117, 100, 41], [22, -65, -7]], [[-79, 70, -7], [-120, -63, 53], [5, -32, -63]], [[-104, 28, 41], [5, 110, 109], [-75, 28, 33]]], [[[-64, -51, -3], [62, -53, 57], [39, -72, -29]], [[84, 87, 40], [-126, 47, -70], [82, 105, -18]], [[117, 66, -44], [97, -29, -101], [24, 89, 40]], [[-27, 103, -5], [-29, -90, -73], [51, 76, -53]], [[33, 95, -90], [-57, 6, 16], [-26, -26, -95]], [[29, 110, -77], [76, -82, -116], [63, -81, 64]], [[-43, 17, 112], [107, -6, -75], [-64, 89, 23]], [[-84, 98, 118], [120, 32, 121], [27, 0, 120]]], [[[27, 73, -41], [74, 121, -114], [9, -33, -114]], [[-106, -59, -78], [55, -73, 32], [91, -1, -95]], [[-111, -52, -22], [-2, -50, 89], [17, 119, 111]], [[53, -121, -73], [63, 11, 113], [53, 82, -114]], [[-52, 46, 34], [-34, -87, 23], [-105, 43, 77]], [[43, -111, 6], [-50, 14, 46], [-77, -118, -1]], [[31, -96, 108], [-5, 119, 9], [58, 70, -1]], [[-27, 43, -123], [30, 7, -89], [-75, -119, 62]]], [[[47, -28, 116], [-30, -49, 104], [-107, -27, -121]], [[-39, 58, -39], [-2, -5, -112], [-104, -51, 12]], [[-109, 107, 91], [16, 59, 62], [-125, 114, -115]], [[87, 85, 62], [-93, 80, 117], [82, 49, -63]], [[14, -5, 94], [-40, -23, -61], [-3, 18, -10]], [[-46, 13, 30], [-85, 21, 53], [-101, 30, -15]], [[110, -28, -47], [53, 94, -105], [-100, -84, -40]], [[3, 17, -24], [98, 42, -85], [-43, -77, -77]]]]> : tensor<4x8x3x3xi8>, kiln.name = "w"} : () -> tensor<4x8x3x3xi8>
    %w = "kiln.generic"(%w8) ({
    ^bb0(%a: i8, %o: f32):
      %f = arith.sitofp %a : i8 to f32
      %z = arith.constant 0.0 : f32
      %d = arith.subf %f, %z : f32
      %s = arith.constant 0.019999999552965164 : f32
      %y = arith.mulf %d, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "w_dq", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<4x8x3x3xi8>) -> tensor<4x8x3x3xf32>
    %b = "kiln.constant"() {value = dense<[0.3460000157356262, 0.4310000240802765, -0.0690000057220459, -0.25699999928474426]> : tensor<4xf32>, kiln.name = "b"} : () -> tensor<4xf32>
    %c0 = "kiln.conv_2d"(%x, %w, %b) {kiln.name = "conv", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nchw", groups = 1 : i64} : (tensor<1x8x6x6xf32>, tensor<4x8x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
    %c = "kiln.generic"(%c0) ({
    ^bb0(%a: f32, %o: f32):
      %lo = arith.constant 0.0 : f32
      %m = arith.maxf %a, %lo : f32
      %hi = arith.constant 0.5 : f32
      %n = arith.minf %m, %hi : f32
      "kiln.yield"(%n) : (f32) -> ()
    }) {kiln.name = "clip", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
    %y = "kiln.generic"(%c) ({
    ^bb0(%a: f32, %o: i8):
      %s = arith.constant 0.004000000189989805 : f32
      %d = arith.divf %a, %s : f32
      %r = math.roundeven %d : f32
      %z = arith.constant 10.0 : f32
      %p = arith.addf %r, %z : f32
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 255.0 : f32
      %m = arith.maxf %p, %lo : f32
      %c = arith.minf %m, %hi : f32
      %q = arith.fptoui %c {kiln.unsigned} : f32 to i8
      "kiln.yield"(%q) : (i8) -> ()
    }) {kiln.name = "y_q", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xui8>
    return %y : tensor<1x4x6x6xui8>
  }
}
