// Guards: a transpose must also sink through a reduction that keeps its dims (ReduceMean
// over H,W with keepdims after import): loops, iterator types and the output map are
// permuted together, so the reduction runs in NHWC and the transpose moves after it.
// RUN: %kiln compile %s --passes=propagate-transposes,canonicalize,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[R:.*]] = "kiln.generic"(%arg0)
// CHECK: iterator_types = ["parallel", "reduction", "reduction", "parallel"]
// CHECK-SAME: -> tensor<1x1x1x3xf32>
// CHECK: %[[T:.*]] = "kiln.reshape"(%[[R]])
// CHECK: return %[[T]]
module {
  func.func @main(%arg0: tensor<1x4x5x3xf32> {kiln.name = "x_nhwc"}) -> (tensor<1x3x1x1xf32> {kiln.name = "mean"}) {
    %0 = "kiln.transpose"(%arg0) {kiln.name = "to_nchw", perm = array<i64: 0, 3, 1, 2>} : (tensor<1x4x5x3xf32>) -> tensor<1x3x4x5xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%in0: f32, %out0: f32):
      %s = arith.addf %out0, %in0 : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "sum_hw", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>], iterator_types = ["parallel", "parallel", "reduction", "reduction"], init = [0.0]} : (tensor<1x3x4x5xf32>) -> tensor<1x3x1x1xf32>
    return %1 : tensor<1x3x1x1xf32>
  }
}
