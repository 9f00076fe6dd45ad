// Guards: a QDQ Gemm unit as ONNX Gemm with transB imports it (a classifier):
// matmul(DQ(x8), transpose(DQ(w8 [N, K]) per output channel)) + bias -> Q becomes an
// integer matmul of x8 - zx and the transposed w8 as i32, then one requantize generic
// that adds the int32 bias (recovered per channel) before the per-channel M.
// RUN: %kiln compile %s --passes=quantize-convs,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: "kiln.matmul"({{.*}}) {{.*}} : (tensor<3x24xi32>, tensor<24x5xi32>) -> tensor<3x5xi32>
// CHECK: ^bb0(%in0: i32, %in1: f32, %in2: i32, %out0: i8):
// CHECK-NEXT: arith.addi %in0, %in2 : i32
// CHECK-NEXT: arith.sitofp
// CHECK-NEXT: arith.mulf {{.*}}, %in1
// CHECK-NOT: kiln.transpose
// CHECK: return
module {
  func.func @main(%arg0: tensor<3x24xui8> {kiln.name = "x"}) -> (tensor<3x5xui8> {kiln.name = "y"}) {
    %x = "kiln.generic"(%arg0) ({
    ^bb0(%a: i8, %o: f32):
      %f = arith.uitofp %a : i8 to f32
      %z = arith.constant 7.0 : f32
      %d = arith.subf %f, %z : f32
      %s = arith.constant 0.05000000074505806 : f32
      %y = arith.mulf %d, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "x_dq", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<3x24xui8>) -> tensor<3x24xf32>
    %w8 = "kiln.constant"() {value = dense<[[-57, -30, 18, -23, -94, -116, -127, -115, -90, 127, -79, 39, 64, -68, -56, -17, -60, 121, -82, 101, 76, 88, -98, -27], [33, -2, 42, 45, 42, -112, 117, 14, 103, -58, -35, 97, -80, -111, -32, 46, -96, 94, -41, -70, 11, 101, 98, 95], [-49, -123, 71, 53, 69, -127, -118, 1, -42, -16, 110, -76, 7, -45, -52, 78, -88, -47, -97, -89, -56, 51, 20, -13], [-84, 76, 76, -67, -112, -46, -90, 76, 5, 2, -53, 2, 119, -67, 68, -124, -47, 110, 95, -106, 87, 88, -12, -34], [122, 115, 45, -26, -74, 111, -59, 14, 45, -66, -47, 62, -77, 44, 113, 47, 37, -9, 119, -71, -37, 36, 39, -100]]> : tensor<5x24xi8>, kiln.name = "w"} : () -> tensor<5x24xi8>
    %ws = "kiln.constant"() {value = dense<[0.02512507326900959, 0.025198519229888916, 0.017883138731122017, 0.012145034037530422, 0.006348267663270235]> : tensor<5xf32>, kiln.name = "ws"} : () -> tensor<5xf32>
    %w = "kiln.generic"(%w8, %ws) ({
    ^bb0(%a: i8, %s: f32, %o: f32):
      %f = arith.sitofp %a : i8 to f32
      %y = arith.mulf %f, %s : f32
      "kiln.yield"(%y) : (f32) -> ()
    }) {kiln.name = "w_dq", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<5x24xi8>, tensor<5xf32>) -> tensor<5x24xf32>
    %wt = "kiln.transpose"(%w) {kiln.name = "transB", perm = array<i64: 1, 0>} : (tensor<5x24xf32>) -> tensor<24x5xf32>
    %mm = "kiln.matmul"(%x, %wt) {kiln.name = "gemm"} : (tensor<3x24xf32>, tensor<24x5xf32>) -> tensor<3x5xf32>
    %b = "kiln.constant"() {value = dense<[-0.34044474363327026, 0.19276867806911469, 0.24321068823337555, 0.06558318436145782, 0.1098250299692154]> : tensor<5xf32>, kiln.name = "b"} : () -> tensor<5xf32>
    %c = "kiln.generic"(%mm, %b) ({
    ^bb0(%a: f32, %bb: f32, %o: f32):
      %s = arith.addf %a, %bb : f32
      "kiln.yield"(%s) : (f32) -> ()
    }) {kiln.name = "gemm_bias", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<3x5xf32>, tensor<5xf32>) -> tensor<3x5xf32>
    %y = "kiln.generic"(%c) ({
    ^bb0(%a: f32, %o: i8):
      %s = arith.constant 0.019999999552965164 : f32
      %d = arith.divf %a, %s : f32
      %r = math.roundeven %d : f32
      %z = arith.constant 120.0 : f32
      %p = arith.addf %r, %z : f32
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 255.0 : f32
      %m = arith.maxf %p, %lo : f32
      %cc = arith.minf %m, %hi : f32
      %q = arith.fptoui %cc {kiln.unsigned} : f32 to i8
      "kiln.yield"(%q) : (i8) -> ()
    }) {kiln.name = "y_q", indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} : (tensor<3x5xf32>) -> tensor<3x5xui8>
    return %y : tensor<3x5xui8>
  }
}
