// Guards: a reduction consumer (sum over the last dim) absorbs its parallel producer
// (exp): the fused op keeps the consumer's reduction iterator and init, and evaluates
// exp at every point of the reduction.
// RUN: %kiln compile %s --passes=fuse-elementwise,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[G:.*]] = "kiln.generic"(%arg0)
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: iterator_types = ["parallel", "reduction"], init = [0.0
// CHECK-NOT: "kiln.generic"
// CHECK: return %[[G]]
module {
  func.func @main(%arg0: tensor<3x7xf32> {kiln.name = "x"}) -> (tensor<3xf32> {kiln.name = "y"}) {
    %0 = "kiln.generic"(%arg0) ({
    ^bb0(%a: f32, %o: f32):
      %e = math.exp %a : f32
      "kiln.yield"(%e) : (f32) -> ()
    }) {kiln.name = "exp", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<3x7xf32>) -> tensor<3x7xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%a: f32, %acc: f32):
      %s = arith.addf %acc, %a : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "sum", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"], init = [0.0]} : (tensor<3x7xf32>) -> tensor<3xf32>
    return %1 : tensor<3xf32>
  }
}
