// An attribute a named op does not have is an error naming it.
// RUN: not %kiln compile %s 2>&1 | FileCheck %s
// CHECK: kiln: error: {{.*}}unknown_attr.mlir:9:110: unknown attribute 'padding' of 'linalg.conv_2d_nhwc_hwcf'
module {
  func.func @main(%arg0: tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant dense<1.000000e+00> : tensor<1x1x2x2xf32>
    %0 = tensor.empty() : tensor<1x4x4x2xf32>
    %1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>, padding = dense<1> : tensor<2xi64>} ins(%arg0, %cst_0 : tensor<1x4x4x2xf32>, tensor<1x1x2x2xf32>) outs(%0 : tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
    return %1 : tensor<1x4x4x2xf32>
  }
}
