// An op the importer does not map is an error naming it with its line and column.
// RUN: not %kiln report %s 2>&1 | FileCheck %s
// CHECK: kiln: error: {{.*}}unknown_op.mlir:11:10: unknown op 'linalg.softmax'
module {
  func.func @main(%arg0: tensor<2x8xf32>) -> tensor<2x8xf32> {
    %0 = tensor.empty() : tensor<2x8xf32>




    %1 = linalg.softmax dimension(1) ins(%arg0 : tensor<2x8xf32>) outs(%0 : tensor<2x8xf32>) -> tensor<2x8xf32>
    return %1 : tensor<2x8xf32>
  }
}
