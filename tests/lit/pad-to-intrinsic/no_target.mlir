// Guards: without --target the pass does nothing (x86 convs keep their true shapes), and
// a bad --target is a clear error with exit status 1 before the model is read.
// RUN: %kiln compile %s --passes=pad-to-intrinsic --verify-each --emit-ir | FileCheck %s
// RUN: not %kiln compile %s --target=npu-8x8 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not %kiln report %s --target=custom:ow=4,oc=0 2>&1 | FileCheck %s --check-prefix=BADKEY

// CHECK: "kiln.conv_2d"(%arg0, %{{.*}}) {{.*}} -> tensor<1x3x3x3xf32>
// CHECK-NOT: "kiln.pad"
// CHECK-NOT: "kiln.extract_slice"
// BAD: kiln: error: --target: unknown target 'npu-8x8' (built-in: x86-avx2, x86-avx512, npu-4x4x8-c4; or custom:ow=N,oc=N,ic=N,cores=N)
// BADKEY: kiln: error: --target: 'oc=0' needs a positive integer value up to 1024
module {
  func.func @main(%arg0: tensor<1x3x3x3xf32> {kiln.name = "x"}) -> (tensor<1x3x3x3xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<0.1> : tensor<3x3x3x3xf32>, kiln.name = "w"} : () -> tensor<3x3x3x3xf32>
    %0 = "kiln.conv_2d"(%arg0, %w) {kiln.name = "conv", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", groups = 1 : i64} : (tensor<1x3x3x3xf32>, tensor<3x3x3x3xf32>) -> tensor<1x3x3x3xf32>
    return %0 : tensor<1x3x3x3xf32>
  }
}
