// The DeepLabV3 int8 pattern as IREE prints it: a clamp (relu6) produces
// tensor<129x129x1x144xf32>, a tensor.collapse_shape / tensor.expand_shape pair turns it
// into tensor<1x129x129x144xf32>, and the fake-quant chain follows (QuantizeLinear: divf,
// roundeven, addf, clamp, fptosi to i8; DequantizeLinear: sitofp, subf, mulf). Kiln must
// fold the unit dim, cancel the reshape pair and fuse everything into one generic in one
// dispatch; simplify-fake-quant then keeps the chain in float (the fptosi/sitofp round
// trip of the clamped integral value becomes a NaN select). What is left is the graph-edge
// re-view from the argument's shape to the result's (the same bytes: only unit dims
// move), fused into that dispatch.
// RUN: %kiln compile %s --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s | FileCheck %s --check-prefix=REPORT
// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.collapse_shape"
// CHECK-NOT: "kiln.expand_shape"
// CHECK: "kiln.generic"(%arg0,
// CHECK: math.roundeven
// CHECK: arith.cmpf une
// CHECK: arith.select
// CHECK-NOT: arith.fptosi
// CHECK-NOT: "kiln.generic"
// CHECK-NOT: "kiln.collapse_shape"
// CHECK-NOT: "kiln.expand_shape"
// CHECK: "kiln.reshape"({{.*}} : (tensor<129x129x1x144xf32>) -> tensor<1x129x129x144xf32>
// CHECK-NEXT: return
// REPORT: dispatch_0_elementwise_129x129x1x144_f32 {{.*}} generic(maxf,minf,divf,roundeven,addf,maxf,...), reshape
// REPORT: dispatches: 1
// REPORT: data-movement dispatches: 0
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> ()>
module {
  util.func public @main(%arg0: tensor<129x129x1x144xf32>) -> tensor<1x129x129x144xf32> {
    %cst = arith.constant dense<0.000000e+00> : tensor<f32>
    %cst_0 = arith.constant dense<6.000000e+00> : tensor<f32>
    %cst_1 = arith.constant 0.0235294122 : f32
    %cst_2 = arith.constant -1.280000e+02 : f32
    %cst_3 = arith.constant 1.270000e+02 : f32
    %cst_4 = arith.constant 3.000000e+00 : f32
    %0 = tensor.empty() : tensor<129x129x1x144xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map1, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0, %cst, %cst_0 : tensor<129x129x1x144xf32>, tensor<f32>, tensor<f32>) outs(%0 : tensor<129x129x1x144xf32>) {
    ^bb0(%in: f32, %in_5: f32, %in_6: f32, %out: f32):
      %8 = arith.maximumf %in, %in_5 : f32
      %9 = arith.minimumf %8, %in_6 : f32
      linalg.yield %9 : f32
    } -> tensor<129x129x1x144xf32>
    %collapsed = tensor.collapse_shape %1 [[0], [1], [2, 3]] : tensor<129x129x1x144xf32> into tensor<129x129x144xf32>
    %expanded = tensor.expand_shape %collapsed [[0, 1], [2], [3]] output_shape [1, 129, 129, 144] : tensor<129x129x144xf32> into tensor<1x129x129x144xf32>
    %2 = tensor.empty() : tensor<1x129x129x144xi8>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded : tensor<1x129x129x144xf32>) outs(%2 : tensor<1x129x129x144xi8>) {
    ^bb0(%in: f32, %out: i8):
      %8 = arith.divf %in, %cst_1 : f32
      %9 = math.roundeven %8 : f32
      %10 = arith.addf %9, %cst_4 : f32
      %11 = arith.maximumf %10, %cst_2 : f32
      %12 = arith.minimumf %11, %cst_3 : f32
      %13 = arith.fptosi %12 : f32 to i8
      linalg.yield %13 : i8
    } -> tensor<1x129x129x144xi8>
    %4 = tensor.empty() : tensor<1x129x129x144xf32>
    %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3 : tensor<1x129x129x144xi8>) outs(%4 : tensor<1x129x129x144xf32>) {
    ^bb0(%in: i8, %out: f32):
      %8 = arith.sitofp %in : i8 to f32
      %9 = arith.subf %8, %cst_4 : f32
      %10 = arith.mulf %9, %cst_1 : f32
      linalg.yield %10 : f32
    } -> tensor<1x129x129x144xf32>
    util.return %5 : tensor<1x129x129x144xf32>
  }
}
