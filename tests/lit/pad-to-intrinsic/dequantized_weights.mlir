// Guards: a weight that is not a constant (the dequantize of int8 weights in a QDQ model)
// is padded with a zero kiln.pad after the dequantize, never by padding the int8 data
// (a zero int8 with a nonzero zero point would dequantize to a nonzero weight). The pad
// and the dequantize fuse into the conv's dispatch as producers.
// RUN: %kiln compile %s --passes=pad-to-intrinsic,dce --target=custom:oc=4 --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s --target=custom:oc=4 --json | FileCheck %s --check-prefix=REPORT

// CHECK-LABEL: func.func @main
// CHECK: %[[DQ:.*]] = "kiln.generic"(%{{.*}}) ({
// CHECK: arith.sitofp
// CHECK: %[[WP:.*]] = "kiln.pad"(%[[DQ]]) {{.*}} : (tensor<1x1x2x3xf32>) -> tensor<1x1x2x4xf32>
// CHECK: %[[C:.*]] = "kiln.conv_2d"(%arg0, %[[WP]]) {{.*}} -> tensor<1x2x2x4xf32>
// CHECK: "kiln.extract_slice"(%[[C]]) {{.*}} -> tensor<1x2x2x3xf32>
// REPORT: "dispatches": 1,
module {
  func.func @main(%arg0: tensor<1x2x2x2xf32> {kiln.name = "x"}) -> (tensor<1x2x2x3xf32> {kiln.name = "y"}) {
    %q = "kiln.constant"() {value = dense<[[[[1, -2, 3], [4, 5, -6]]]]> : tensor<1x1x2x3xi8>, kiln.name = "wq"} : () -> tensor<1x1x2x3xi8>
    %w = "kiln.generic"(%q) ({
    ^bb0(%a: i8, %o: f32):
      %zp = arith.constant 3.0 : f32
      %s = arith.constant 0.5 : f32
      %f = arith.sitofp %a : i8 to f32
      %d = arith.subf %f, %zp : f32
      %r = arith.mulf %d, %s : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "dequant", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x1x2x3xi8>) -> tensor<1x1x2x3xf32>
    %0 = "kiln.conv_2d"(%arg0, %w) {kiln.name = "conv", kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", groups = 1 : i64} : (tensor<1x2x2x2xf32>, tensor<1x1x2x3xf32>) -> tensor<1x2x2x3xf32>
    return %0 : tensor<1x2x2x3xf32>
  }
}
