// Guards: a depthwise conv pads its channels (in and out alike: no reduction over them)
// to the target's OC multiple and its output rows/columns to the core count and OW tile,
// given as a custom target; the clamp after it flows on the padded shape and the graph
// output is sliced back once.
// RUN: %kiln compile %s --passes=pad-to-intrinsic,dce --target=custom:ow=2,oc=4,cores=2 --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[P:.*]] = "kiln.pad"(%arg0) {{.*}} : (tensor<1x5x5x3xf32>) -> tensor<1x6x6x4xf32>
// CHECK: %[[D:.*]] = "kiln.depthwise_conv_2d"(%[[P]], {{.*}} : (tensor<1x6x6x4xf32>, tensor<3x3x4xf32>) -> tensor<1x6x6x4xf32>
// CHECK: %[[G:.*]] = "kiln.generic"(%[[D]])
// CHECK: %[[S:.*]] = "kiln.extract_slice"(%[[G]]) {{.*}} -> tensor<1x5x5x3xf32>
// CHECK: return %[[S]]
module {
  func.func @main(%arg0: tensor<1x5x5x3xf32> {kiln.name = "x"}) -> (tensor<1x5x5x3xf32> {kiln.name = "y"}) {
    %w = "kiln.constant"() {value = dense<0.3> : tensor<3x3x3xf32>, kiln.name = "w"} : () -> tensor<3x3x3xf32>
    %0 = "kiln.depthwise_conv_2d"(%arg0, %w) {kiln.name = "dw", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nhwc"} : (tensor<1x5x5x3xf32>, tensor<3x3x3xf32>) -> tensor<1x5x5x3xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%a: f32, %o: f32):
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 6.0 : f32
      %m = arith.maxf %a, %lo : f32
      %r = arith.minf %m, %hi : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "relu6", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x5x5x3xf32>) -> tensor<1x5x5x3xf32>
    return %1 : tensor<1x5x5x3xf32>
  }
}
