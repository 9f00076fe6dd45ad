// Guards: a QDQ fake-quant chain as the importer leaves it, one generic per op (divf,
// roundeven, addf, clamp as maxf/minf, fptosi to i8, sitofp, subf, mulf), must become one
// generic; the i8 intermediate tensor disappears and the body keeps the casts in order.
// RUN: %kiln compile %s --passes=fuse-elementwise,dce --verify-each --emit-ir | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: %[[G:.*]] = "kiln.generic"(%arg0)
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: arith.addf
// CHECK: arith.maxf
// CHECK: arith.minf
// CHECK: arith.fptosi {{.*}} : f32 to i8
// CHECK: arith.sitofp {{.*}} : i8 to f32
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK-NOT: "kiln.generic"
// CHECK: return %[[G]]
module {
  func.func @main(%arg0: tensor<1x4x4x8xf32> {kiln.name = "x"}) -> (tensor<1x4x4x8xf32> {kiln.name = "y"}) {
    %0 = "kiln.generic"(%arg0) ({
    ^bb0(%a: f32, %o: f32):
      %c = arith.constant 0.05 : f32
      %r = arith.divf %a, %c : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "div", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%a: f32, %o: f32):
      %r = math.roundeven %a : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "round", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %2 = "kiln.generic"(%1) ({
    ^bb0(%a: f32, %o: f32):
      %c = arith.constant 3.0 : f32
      %r = arith.addf %a, %c : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "add_zp", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %3 = "kiln.generic"(%2) ({
    ^bb0(%a: f32, %o: f32):
      %lo = arith.constant -128.0 : f32
      %hi = arith.constant 127.0 : f32
      %m = arith.maxf %a, %lo : f32
      %r = arith.minf %m, %hi : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "clamp", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %4 = "kiln.generic"(%3) ({
    ^bb0(%a: f32, %o: i8):
      %r = arith.fptosi %a : f32 to i8
      "kiln.yield"(%r) : (i8) -> ()
    }) {kiln.name = "to_i8", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xi8>
    %5 = "kiln.generic"(%4) ({
    ^bb0(%a: i8, %o: f32):
      %r = arith.sitofp %a : i8 to f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "to_f32", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xi8>) -> tensor<1x4x4x8xf32>
    %6 = "kiln.generic"(%5) ({
    ^bb0(%a: f32, %o: f32):
      %c = arith.constant 3.0 : f32
      %r = arith.subf %a, %c : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "sub_zp", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %7 = "kiln.generic"(%6) ({
    ^bb0(%a: f32, %o: f32):
      %c = arith.constant 0.05 : f32
      %r = arith.mulf %a, %c : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "mul_scale", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    return %7 : tensor<1x4x4x8xf32>
  }
}
