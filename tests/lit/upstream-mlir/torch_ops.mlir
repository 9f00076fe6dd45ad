// torch-mlir's ONNX form (what iree-import-onnx writes): each torch.operator becomes an
// ONNX node and goes through the ONNX importer's handlers, so a Conv with group = C is
// Kiln's depthwise conv, Clip with constant bounds a clamp, and %none an absent input.
// RUN: %kiln compile %s --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s | FileCheck %s --check-prefix=REPORT
// CHECK-LABEL: func.func @main
// CHECK: "kiln.depthwise_conv_2d"({{.*}}pads = array<i64: 1, 1, 1, 1>, layout = "nhwc"
// CHECK: arith.maxf
// CHECK: arith.minf
// CHECK: return
// REPORT: dispatches: 1
// REPORT: data-movement dispatches: 0
module {
  func.func @main(%arg0: !torch.vtensor<[1,4,6,6],f32>) -> !torch.vtensor<[1,4,6,6],f32> attributes {torch.onnx_meta.ir_version = 8 : si64, torch.onnx_meta.opset_version = 17 : si64, torch.onnx_meta.producer_name = "pytorch", torch.onnx_meta.producer_version = "2.1.0"} {
    %none = torch.constant.none
    %0 = torch.operator "onnx.Constant"() {torch.onnx.value = dense_resource<_w> : tensor<4x1x3x3xf32>} : () -> !torch.vtensor<[4,1,3,3],f32>
    %1 = torch.operator "onnx.Constant"() {torch.onnx.value = dense<0.000000e+00> : tensor<f32>} : () -> !torch.vtensor<[],f32>
    %2 = torch.operator "onnx.Constant"() {torch.onnx.value = dense<6.000000e+00> : tensor<f32>} : () -> !torch.vtensor<[],f32>
    %3 = torch.operator "onnx.Conv"(%arg0, %0, %none) {torch.onnx.dilations = [1 : si64, 1 : si64], torch.onnx.group = 4 : si64, torch.onnx.kernel_shape = [3 : si64, 3 : si64], torch.onnx.pads = [1 : si64, 1 : si64, 1 : si64, 1 : si64], torch.onnx.strides = [1 : si64, 1 : si64]} : (!torch.vtensor<[1,4,6,6],f32>, !torch.vtensor<[4,1,3,3],f32>, !torch.none) -> !torch.vtensor<[1,4,6,6],f32>
    %4 = torch.operator "onnx.Clip"(%3, %1, %2) : (!torch.vtensor<[1,4,6,6],f32>, !torch.vtensor<[],f32>, !torch.vtensor<[],f32>) -> !torch.vtensor<[1,4,6,6],f32>
    return %4 : !torch.vtensor<[1,4,6,6],f32>
  }
}

{-#
  dialect_resources: {
    builtin: {
      _w: "0x040000000000803F0000003F0000803E0000803F0000003F0000803E0000803F0000003F0000803E0000803F0000003F0000803E0000803F0000003F0000803E0000803F0000003F0000803E0000803F0000003F0000803E0000803F0000003F0000803E0000803F0000003F0000803E0000803F0000003F0000803E0000803F0000003F0000803E0000803F0000003F0000803E"
    }
  }
#-}
