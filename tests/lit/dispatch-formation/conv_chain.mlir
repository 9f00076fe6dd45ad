// Guards: a conv with its bias add, relu6 clamp and QDQ fake-quant chain (divf,
// roundeven, addf, clamp, fptosi i8, sitofp, subf, mulf) is one dispatch: the elementwise
// consumers fuse into the conv's region; the weight and bias constants stay outside as
// operands. The function keeps only constants and that one dispatch.
// RUN: %kiln compile %s --passes=dce --form-dispatches --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[D:.*]] = "kiln.dispatch"(%arg0, %{{.*}}, %{{.*}}) ({
// CHECK: "kiln.conv_2d"
// CHECK: arith.addf
// CHECK: arith.maxf
// CHECK: math.roundeven
// CHECK: arith.fptosi
// CHECK: "kiln.yield"
// CHECK: kiln.name = "dispatch_0_conv_nhwc_3x3_1x4x4x4_f32"
// CHECK-NOT: "kiln.generic"
// CHECK-NOT: "kiln.dispatch"
// CHECK: return %[[D]]
module {
  func.func @main(%arg0: tensor<1x4x4x2xf32> {kiln.name = "x"}) -> (tensor<1x4x4x4xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<0.25> : tensor<3x3x2x4xf32>, kiln.name = "w"} : () -> tensor<3x3x2x4xf32>
    %b = "kiln.constant"() {value = dense<[0.1, -0.2, 0.3, -0.4]> : tensor<4xf32>, kiln.name = "b"} : () -> tensor<4xf32>
    %0 = "kiln.conv_2d"(%arg0, %w) {kiln.name = "conv", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x4x4x2xf32>, tensor<3x3x2x4xf32>) -> tensor<1x4x4x4xf32>
    %1 = "kiln.generic"(%0, %b) ({
    ^bb0(%a: f32, %c: f32, %o: f32):
      %r = arith.addf %a, %c : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "bias", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x4xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
    %2 = "kiln.generic"(%1) ({
    ^bb0(%a: f32, %o: f32):
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 6.0 : f32
      %m = arith.maxf %a, %lo : f32
      %r = arith.minf %m, %hi : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "relu6", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    %3 = "kiln.generic"(%2) ({
    ^bb0(%a: f32, %o: f32):
      %s = arith.constant 0.05 : f32
      %z = arith.constant 3.0 : f32
      %lo = arith.constant -128.0 : f32
      %hi = arith.constant 127.0 : f32
      %d = arith.divf %a, %s : f32
      %r = math.roundeven %d : f32
      %p = arith.addf %r, %z : f32
      %m = arith.maxf %p, %lo : f32
      %c = arith.minf %m, %hi : f32
      %q = arith.fptosi %c : f32 to i8
      %f = arith.sitofp %q : i8 to f32
      %u = arith.subf %f, %z : f32
      %y = arith.mulf %u, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "fake_quant", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    return %3 : tensor<1x4x4x4xf32>
  }
}
