// In torch-mlir's ONNX form, an ONNX op type the ONNX importer does not support is an
// error naming it, with its line and column.
// RUN: not %kiln report %s 2>&1 | FileCheck %s
// CHECK: kiln: error: {{.*}}unknown_onnx_op.mlir:8:25: unknown op 'onnx.GridSample'
module {
  func.func @main(%arg0: !torch.vtensor<[1,1,4,4],f32>, %arg1: !torch.vtensor<[1,4,4,2],f32>) -> !torch.vtensor<[1,1,4,4],f32> attributes {torch.onnx_meta.opset_version = 17 : si64} {
    %none = torch.constant.none
    %0 = torch.operator "onnx.GridSample"(%arg0, %arg1) : (!torch.vtensor<[1,1,4,4],f32>, !torch.vtensor<[1,4,4,2],f32>) -> !torch.vtensor<[1,1,4,4],f32>
    return %0 : !torch.vtensor<[1,1,4,4],f32>
  }
}
