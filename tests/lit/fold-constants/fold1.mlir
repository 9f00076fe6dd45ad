// Guards: a weight-only subgraph (transpose then scale of a constant) folds into one
// constant, while the op that reads the graph input stays.
// RUN: %kiln compile %s --passes=fold-constants,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.transpose"
// CHECK: "kiln.constant"() {value = dense<{{\[}}[2.0{{.*}}, 6.0{{.*}}], [4.0{{.*}}, 8.0{{.*}}]]>
// CHECK: "kiln.matmul"(%arg0
module {
  func.func @main(%arg0: tensor<1x2xf32> {kiln.name = "x"}) -> (tensor<1x2xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>, kiln.name = "w"} : () -> tensor<2x2xf32>
    %0 = "kiln.transpose"(%w) {kiln.name = "wt", perm = array<i64: 1, 0>} : (tensor<2x2xf32>) -> tensor<2x2xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%a: f32, %o: f32):
      %c = arith.constant 2.0 : f32
      %m = arith.mulf %a, %c : f32
      "kiln.yield"(%m) : (f32) -> ()
    }) {kiln.name = "scale", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<2x2xf32>) -> tensor<2x2xf32>
    %2 = "kiln.matmul"(%arg0, %1) {kiln.name = "mm"} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
    return %2 : tensor<1x2xf32>
  }
}
