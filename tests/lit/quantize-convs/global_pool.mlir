// Guards: a global average pool between a DQ and a Q (ONNX Runtime's
// QLinearGlobalAveragePool unit) becomes the exact int32 sum of x8 - zx over the image,
// written as a depthwise conv of ones (run exactly by the interpreter, and by the
// backend's global-sum kernel), and one requantize by M = f32(sx / f32(sy * f32(H*W))).
// RUN: %kiln compile %s --passes=quantize-convs,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: arith.subi
// CHECK: "kiln.constant"() {{.*}} : () -> tensor<8x5x5xi32>
// CHECK: "kiln.depthwise_conv_2d"({{.*}}) {{.*}}kernel = array<i64: 5, 5>{{.*}} : (tensor<1x8x5x5xi32>, tensor<8x5x5xi32>) -> tensor<1x8x1x1xi32>
// CHECK: arith.sitofp
// CHECK-NEXT: arith.constant 1.333
// CHECK-NOT: kiln.pooling
// CHECK: return
module {
  func.func @main(%arg0: tensor<1x8x5x5xui8> {kiln.name = "x"}) -> (tensor<1x8x1x1xui8> {kiln.name = "y"}) {
    %x = "kiln.generic"(%arg0) ({
    ^bb0(%a: i8, %o: f32):
      %f = arith.uitofp %a : i8 to f32
      %z = arith.constant 1.0 : f32
      %d = arith.subf %f, %z : f32
      %s = arith.constant 0.02 : f32
      %y = arith.mulf %d, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "x_dq", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x8x5x5xui8>) -> tensor<1x8x5x5xf32>
    %p = "kiln.pooling"(%x) {kiln.name = "gap", kernel = array<i64: 5, 5>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nchw", pool_kind = "avg", count_include_pad = false} : (tensor<1x8x5x5xf32>) -> tensor<1x8x1x1xf32>
    %y = "kiln.generic"(%p) ({
    ^bb0(%a: f32, %o: i8):
      %s = arith.constant 0.0006 : f32
      %d = arith.divf %a, %s : f32
      %r = math.roundeven %d : f32
      %z = arith.constant 30.0 : f32
      %pz = arith.addf %r, %z : f32
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 255.0 : f32
      %m = arith.maxf %pz, %lo : f32
      %c = arith.minf %m, %hi : f32
      %q = arith.fptoui %c {kiln.unsigned} : f32 to i8
      "kiln.yield"(%q) : (i8) -> ()
    }) {kiln.name = "y_q", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x8x1x1xf32>) -> tensor<1x8x1x1xui8>
    return %y : tensor<1x8x1x1xui8>
  }
}
