// Guards: Q(concat(DQ_0(x0), DQ_1(x1))) (an ASPP head's concat of branches quantized
// apart) becomes a concat of 8-bit tensors: x0 as is (its DQ has the Q's parameters), x1
// through one generic Q(DQ_1(x)) with the graph's own float operations; nothing in float
// is materialized.
// RUN: %kiln compile %s --passes=quantize-convs,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[R:.*]] = "kiln.generic"(%arg1)
// CHECK: arith.divf
// CHECK: arith.fptoui
// CHECK: "kiln.concat"(%arg0, %[[R]]) {{.*}} : (tensor<1x2x3x4xui8>, tensor<1x2x3x4xui8>) -> tensor<1x2x3x8xui8>
// CHECK-NOT: f32>
// CHECK: return
module {
  func.func @main(%arg0: tensor<1x2x3x4xui8> {kiln.name = "x0"}, %arg1: tensor<1x2x3x4xui8> {kiln.name = "x1"}) -> (tensor<1x2x3x8xui8> {kiln.name = "y"}) {
    %d0 = "kiln.generic"(%arg0) ({
    ^bb0(%a: i8, %o: f32):
      %f = arith.uitofp %a : i8 to f32
      %z = arith.constant 10.0 : f32
      %d = arith.subf %f, %z : f32
      %s = arith.constant 0.03 : f32
      %y = arith.mulf %d, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "d0", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x2x3x4xui8>) -> tensor<1x2x3x4xf32>
    %d1 = "kiln.generic"(%arg1) ({
    ^bb0(%a: i8, %o: f32):
      %f = arith.uitofp %a : i8 to f32
      %z = arith.constant 3.0 : f32
      %d = arith.subf %f, %z : f32
      %s = arith.constant 0.011 : f32
      %y = arith.mulf %d, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "d1", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x2x3x4xui8>) -> tensor<1x2x3x4xf32>
    %c = "kiln.concat"(%d0, %d1) {kiln.name = "cat", axis = 3 : i64} : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x8xf32>
    %y = "kiln.generic"(%c) ({
    ^bb0(%a: f32, %o: i8):
      %s = arith.constant 0.03 : f32
      %d = arith.divf %a, %s : f32
      %r = math.roundeven %d : f32
      %z = arith.constant 10.0 : f32
      %pz = arith.addf %r, %z : f32
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 255.0 : f32
      %m = arith.maxf %pz, %lo : f32
      %cc = arith.minf %m, %hi : f32
      %q = arith.fptoui %cc {kiln.unsigned} : f32 to i8
      "kiln.yield"(%q) : (i8) -> ()
    }) {kiln.name = "y_q", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xui8>
    return %y : tensor<1x2x3x8xui8>
  }
}
