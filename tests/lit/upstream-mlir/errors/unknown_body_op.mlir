// A scalar op in a linalg.generic body that Kiln's bodies cannot express (math.sin,
// linalg.index) is an error naming it.
// RUN: not %kiln run %s --random-inputs 1 2>&1 | FileCheck %s
// CHECK: kiln: error: {{.*}}unknown_body_op.mlir:11:12: unknown op 'math.sin'
#map = affine_map<(d0) -> (d0)>
module {
  func.func @main(%arg0: tensor<8xf32>) -> tensor<8xf32> {
    %0 = tensor.empty() : tensor<8xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%arg0 : tensor<8xf32>) outs(%0 : tensor<8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %2 = math.sin %in : f32
      linalg.yield %2 : f32
    } -> tensor<8xf32>
    return %1 : tensor<8xf32>
  }
}
