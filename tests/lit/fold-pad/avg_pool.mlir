// Guards: a zero pad in front of average pooling folds only if the pool then divides by
// the padded window (count_include_pad = true), as it did over the explicit zeros. A
// pool that excludes pads and already has pads of its own must keep the explicit pad,
// and max pooling (whose pads are not zeros) is never folded into.
// RUN: %kiln compile %s --passes=fold-pad --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: "kiln.pooling"(%arg0) {kiln.name = "avg", {{.*}}pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", pool_kind = "avg", count_include_pad = true}
// CHECK: %[[P:.*]] = "kiln.pad"(%arg0) {kiln.name = "pad2"
// CHECK: "kiln.pooling"(%[[P]]) {kiln.name = "avg_excl"
// CHECK: %[[Q:.*]] = "kiln.pad"(%arg0) {kiln.name = "pad3"
// CHECK: "kiln.pooling"(%[[Q]]) {kiln.name = "max"
module {
  func.func @main(%arg0: tensor<1x5x5x2xf32> {kiln.name = "x"}) -> (tensor<1x5x5x2xf32> {kiln.name = "a"}, tensor<1x7x7x2xf32> {kiln.name = "b"}, tensor<1x5x5x2xf32> {kiln.name = "c"}) {
    %0 = "kiln.pad"(%arg0) {kiln.name = "pad1", pad_lo = array<i64: 0, 1, 1, 0>, pad_hi = array<i64: 0, 1, 1, 0>, pad_mode = "constant", pad_value = 0.0 : f64} : (tensor<1x5x5x2xf32>) -> tensor<1x7x7x2xf32>
    %1 = "kiln.pooling"(%0) {kiln.name = "avg", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", pool_kind = "avg", count_include_pad = false} : (tensor<1x7x7x2xf32>) -> tensor<1x5x5x2xf32>
    %2 = "kiln.pad"(%arg0) {kiln.name = "pad2", pad_lo = array<i64: 0, 1, 1, 0>, pad_hi = array<i64: 0, 1, 1, 0>, pad_mode = "constant", pad_value = 0.0 : f64} : (tensor<1x5x5x2xf32>) -> tensor<1x7x7x2xf32>
    %3 = "kiln.pooling"(%2) {kiln.name = "avg_excl", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc", pool_kind = "avg", count_include_pad = false} : (tensor<1x7x7x2xf32>) -> tensor<1x7x7x2xf32>
    %4 = "kiln.pad"(%arg0) {kiln.name = "pad3", pad_lo = array<i64: 0, 1, 1, 0>, pad_hi = array<i64: 0, 1, 1, 0>, pad_mode = "constant", pad_value = 0.0 : f64} : (tensor<1x5x5x2xf32>) -> tensor<1x7x7x2xf32>
    %5 = "kiln.pooling"(%4) {kiln.name = "max", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc", pool_kind = "max", count_include_pad = false} : (tensor<1x7x7x2xf32>) -> tensor<1x5x5x2xf32>
    return %1, %3, %5 : tensor<1x5x5x2xf32>, tensor<1x7x7x2xf32>, tensor<1x5x5x2xf32>
  }
}
