// Guards: squeeze-and-excitation's scale — a small matmul (the excitation FC) whose result
// is read by a broadcast map (d0, 0, 0, d3) in the multiply with the big activation —
// forms one dispatch with the matmul as root. (The CPU backend runs the matmul fused and
// the broadcast multiply after it as a post op; tests/backend/compare_lit.py checks this
// graph's numbers against the interpreter.)
// RUN: %kiln compile %s --passes=dce --form-dispatches --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: "kiln.dispatch"
// CHECK: "kiln.matmul"
// CHECK: "kiln.generic"
// CHECK: kiln.name = "dispatch_0_matmul_1x4x2_f32"
module {
  func.func @main(%arg0: tensor<1x2xf32> {kiln.name = "squeezed"}, %arg1: tensor<1x5x5x4xf32> {kiln.name = "x"}) -> (tensor<1x5x5x4xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<[[0.5, -1.0, 2.0, 0.25], [1.5, 0.75, -0.5, 1.0]]> : tensor<2x4xf32>, kiln.name = "fc"} : () -> tensor<2x4xf32>
    %m = "kiln.matmul"(%arg0, %w) {kiln.name = "fc"} : (tensor<1x2xf32>, tensor<2x4xf32>) -> tensor<1x4xf32>
    %r = "kiln.reshape"(%m) {kiln.name = "fc.nhwc"} : (tensor<1x4xf32>) -> tensor<1x1x1x4xf32>
    %y = "kiln.generic"(%arg1, %r) ({
    ^bb0(%a: f32, %s: f32, %o: f32):
      %n = arith.negf %s : f32
      %e = math.exp %n : f32
      %one = arith.constant 1.0 : f32
      %d = arith.addf %one, %e : f32
      %g = arith.divf %one, %d : f32
      %p = arith.mulf %a, %g : f32
      "kiln.yield"(%p) : (f32) -> ()
    }) {kiln.name = "se_scale", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, 0, 0, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x5x5x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x5x5x4xf32>
    return %y : tensor<1x5x5x4xf32>
  }
}
