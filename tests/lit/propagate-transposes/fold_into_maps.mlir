// Guards: a transpose that cannot sink (its consumer is a reduction that drops the reduced
// dim, so there is no layout to rename it into) must not stay an op of its own: it folds
// into the consumer's indexing map, which then reads the graph input with permuted indices.
// RUN: %kiln compile %s --passes=propagate-transposes,canonicalize,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.transpose"
// CHECK: "kiln.generic"(%arg0)
// CHECK: indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0)>]
module {
  func.func @main(%arg0: tensor<3x2xf32> {kiln.name = "a"}) -> (tensor<2xf32> {kiln.name = "y"}) {
    %0 = "kiln.transpose"(%arg0) {kiln.name = "t", perm = array<i64: 1, 0>} : (tensor<3x2xf32>) -> tensor<2x3xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%x: f32, %o: f32):
      %s = arith.addf %o, %x : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "rowsum", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"], init = [0.0]} : (tensor<2x3xf32>) -> tensor<2xf32>
    return %1 : tensor<2xf32>
  }
}
