// Guards: a per-column scale and shift after a matmul with constant weights (Gemm + BN,
// or a BN that comes after conv1x1-to-matmul) folds into the weights, and the shift
// becomes one bias add, since a matmul has no bias operand.
// RUN: %kiln compile %s --passes=fold-scale-bias,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[M:.*]] = "kiln.matmul"(%arg0, %{{.*}})
// CHECK: "kiln.generic"(%[[M]], %{{.*}})
// CHECK: arith.addf
// CHECK-NOT: arith.mulf
// CHECK: return
module {
  func.func @main(%arg0: tensor<2x3xf32> {kiln.name = "x"}) -> (tensor<2x2xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<[[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]]> : tensor<3x2xf32>, kiln.name = "w"} : () -> tensor<3x2xf32>
    %s = "kiln.constant"() {value = dense<[2.0, -3.0]> : tensor<2xf32>, kiln.name = "scale"} : () -> tensor<2xf32>
    %t = "kiln.constant"() {value = dense<[0.5, 0.25]> : tensor<2xf32>, kiln.name = "shift"} : () -> tensor<2xf32>
    %0 = "kiln.matmul"(%arg0, %w) {kiln.name = "mm"} : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
    %1 = "kiln.generic"(%0, %s, %t) ({
    ^bb0(%x: f32, %a: f32, %b: f32, %o: f32):
      %m = arith.mulf %x, %a : f32
      %r = arith.addf %m, %b : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "bn", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<2x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
    return %1 : tensor<2x2xf32>
  }
}
