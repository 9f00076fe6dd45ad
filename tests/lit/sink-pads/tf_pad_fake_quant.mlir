// Guards: TensorFlow-style int8 models pad before the input fake-quant of a conv
// (pad -> fake-quant -> depthwise conv). The pad sinks below the fake-quant (its value
// goes through the body: fq(0) = 0 here), lands on the conv and fold-pad folds it into the
// conv's padding: no kiln.pad is left, the asymmetric pads add to the conv's own.
// RUN: %kiln compile %s --passes=sink-pads,fold-pad,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK-NOT: kiln.pad
// CHECK: "kiln.generic"(%arg0)
// CHECK: "kiln.depthwise_conv_2d"
// CHECK-SAME: pads = array<i64: 0, 0, 1, 1>
module {
  func.func @main(%arg0: tensor<1x8x8x4xf32> {kiln.name = "x"}) -> (tensor<1x4x4x4xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<0.25> : tensor<3x3x4xf32>, kiln.name = "w"} : () -> tensor<3x3x4xf32>
    %p = "kiln.pad"(%arg0) {kiln.name = "tfpad", pad_lo = array<i64: 0, 0, 0, 0>, pad_hi = array<i64: 0, 1, 1, 0>, pad_mode = "constant", pad_value = 0.0 : f64} : (tensor<1x8x8x4xf32>) -> tensor<1x9x9x4xf32>
    %q = "kiln.generic"(%p) ({
    ^bb0(%a: f32, %o: f32):
      %s = arith.constant 0.05 : f32
      %d = arith.divf %a, %s : f32
      %r = math.roundeven %d : f32
      %zp = arith.constant 3.0 : f32
      %q = arith.addf %r, %zp : f32
      %lo = arith.constant -128.0 : f32
      %hi = arith.constant 127.0 : f32
      %m = arith.maxf %q, %lo : f32
      %c = arith.minf %m, %hi : f32
      %u = arith.subf %c, %zp : f32
      %y = arith.mulf %u, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "input_fq", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x9x9x4xf32>) -> tensor<1x9x9x4xf32>
    %y = "kiln.depthwise_conv_2d"(%q, %w) {kiln.name = "dw", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, layout = "nhwc"} : (tensor<1x9x9x4xf32>, tensor<3x3x4xf32>) -> tensor<1x4x4x4xf32>
    return %y : tensor<1x4x4x4xf32>
  }
}
