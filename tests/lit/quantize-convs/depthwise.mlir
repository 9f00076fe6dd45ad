// Guards: a depthwise conv unit (stride 2) becomes an integer depthwise conv too.
// RUN: %kiln compile %s --passes=quantize-convs,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: "kiln.depthwise_conv_2d"({{.*}}) {{.*}} : (tensor<1x8x6x6xi32>, tensor<8x3x3xi32>, tensor<8xi32>) -> tensor<1x8x3x3xi32>
// CHECK: arith.fptoui
module {
  func.func @main(%arg0: tensor<1x8x6x6xui8> {kiln.name = "x"}) -> (tensor<1x8x3x3xui8> {kiln.name = "y"}) {
    %x = "kiln.generic"(%arg0) ({
    ^bb0(%a: i8, %o: f32):
      %f = arith.uitofp %a : i8 to f32
      %z = arith.constant 3.0 : f32
      %d = arith.subf %f, %z : f32
      %s = arith.constant 0.05000000074505806 : f32
      %y = arith.mulf %d, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "x_dq", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x8x6x6xui8>) -> tensor<1x8x6x6xf32>
    %w8 = "kiln.constant"() {value = dense<[[[85, -90, -92], [-56, -34, -41], [-56, -70, 32]], [[9, 40, 111], [111, -95, 74], [-22, 82, 43]], [[-113, 98, 109], [127, -112, -91], [33, 10, -104]], [[97, -68, -114], [92, 23, -121], [-83, 97, 68]], [[94, 112, -51], [10, -33, -125], [-67, -111, -98]], [[-21, 106, 89], [37, -67, -95], [43, 60, -24]], [[-93, -60, 124], [52, 17, -49], [92, -33, -13]], [[68, -22, -1], [-120, 72, -55], [4, 12, -87]]]> : tensor<8x3x3xi8>, kiln.name = "w"} : () -> tensor<8x3x3xi8>
    %w = "kiln.generic"(%w8) ({
    ^bb0(%a: i8, %o: f32):
      %f = arith.sitofp %a : i8 to f32
      %z = arith.constant 0.0 : f32
      %d = arith.subf %f, %z : f32
      %s = arith.constant 0.019999999552965164 : f32
      %y = arith.mulf %d, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "w_dq", indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} : (tensor<8x3x3xi8>) -> tensor<8x3x3xf32>
    %b = "kiln.constant"() {value = dense<[-0.26100000739097595, -0.05700000375509262, -0.4000000059604645, 0.3720000088214874, -0.1550000011920929, 0.06400000303983688, -0.3530000150203705, 0.46400001645088196]> : tensor<8xf32>, kiln.name = "b"} : () -> tensor<8xf32>
    %c = "kiln.depthwise_conv_2d"(%x, %w, %b) {kiln.name = "dw", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, layout = "nchw"} : (tensor<1x8x6x6xf32>, tensor<8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x3x3xf32>
    %y = "kiln.generic"(%c) ({
    ^bb0(%a: f32, %o: i8):
      %s = arith.constant 0.004000000189989805 : f32
      %d = arith.divf %a, %s : f32
      %r = math.roundeven %d : f32
      %z = arith.constant 10.0 : f32
      %p = arith.addf %r, %z : f32
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 255.0 : f32
      %m = arith.maxf %p, %lo : f32
      %c = arith.minf %m, %hi : f32
      %q = arith.fptoui %c {kiln.unsigned} : f32 to i8
      "kiln.yield"(%q) : (i8) -> ()
    }) {kiln.name = "y_q", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x8x3x3xf32>) -> tensor<1x8x3x3xui8>
    return %y : tensor<1x8x3x3xui8>
  }
}
