// Guards: the DeepLabV3 case from the field (IREE, nod-ai/iree-amd-aie#515): a clamp
// (relu6) producing 129x129x1x144, a collapse_shape to 129x129x144 and an expand_shape to
// 1x129x129x144 in front of the fake-quant chain. The reshapes only move a unit dim, so
// they must sink below the chain; canonicalize then merges them into one reshape at the
// function result and fuse-elementwise makes clamp + chain one generic: no reshape may
// remain between the clamp and the chain.
// RUN: %kiln compile %s --passes=propagate-reshapes,canonicalize,fuse-elementwise,dce --verify-each --emit-ir | FileCheck %s
// RUN: %kiln compile %s --passes=propagate-reshapes --verify-each --emit-ir | FileCheck %s --check-prefix=PUSH

// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.collapse_shape"
// CHECK-NOT: "kiln.expand_shape"
// CHECK-NOT: "kiln.reshape"
// CHECK: %[[G:.*]] = "kiln.generic"(%arg0)
// CHECK: arith.maxf
// CHECK: arith.minf
// CHECK: arith.divf
// CHECK: arith.fptosi
// CHECK: arith.mulf
// CHECK: (tensor<129x129x1x144xf32>) -> tensor<129x129x1x144xf32>
// CHECK-NOT: "kiln.generic"
// CHECK: %[[R:.*]] = "kiln.reshape"(%[[G]]) {{.*}} : (tensor<129x129x1x144xf32>) -> tensor<1x129x129x144xf32>
// CHECK-NOT: "kiln.generic"
// CHECK: return %[[R]]

// After propagate-reshapes alone, every generic works on 129x129x1x144 and the two
// reshapes sit at the end:
// PUSH-LABEL: func.func @main
// PUSH-NOT: "kiln.collapse_shape"
// PUSH-NOT: "kiln.expand_shape"
// PUSH-NOT: "kiln.reshape"
// PUSH: "kiln.generic"(%arg0)
// PUSH-NOT: "kiln.reshape"
// PUSH: {kiln.name = "mul_scale"{{.*}} : (tensor<129x129x1x144xf32>) -> tensor<129x129x1x144xf32>
// PUSH-NEXT: "kiln.reshape"{{.*}} : (tensor<129x129x1x144xf32>) -> tensor<129x129x144xf32>
// PUSH-NEXT: "kiln.reshape"{{.*}} : (tensor<129x129x144xf32>) -> tensor<1x129x129x144xf32>
// PUSH-NEXT: return
module {
  func.func @main(%arg0: tensor<129x129x1x144xf32> {kiln.name = "x"}) -> (tensor<1x129x129x144xf32> {kiln.name = "y"}) {
    %clamp = "kiln.generic"(%arg0) ({
    ^bb0(%a: f32, %o: f32):
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 6.0 : f32
      %m = arith.maxf %a, %lo : f32
      %r = arith.minf %m, %hi : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "relu6", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<129x129x1x144xf32>) -> tensor<129x129x1x144xf32>
    %c = "kiln.collapse_shape"(%clamp) {kiln.name = "collapse", reassoc = array<i64: 1, 1, 2>} : (tensor<129x129x1x144xf32>) -> tensor<129x129x144xf32>
    %e = "kiln.expand_shape"(%c) {kiln.name = "expand", reassoc = array<i64: 2, 1, 1>} : (tensor<129x129x144xf32>) -> tensor<1x129x129x144xf32>
    %0 = "kiln.generic"(%e) ({
    ^bb0(%a: f32, %o: f32):
      %c = arith.constant 0.0235 : f32
      %r = arith.divf %a, %c : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "div", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x129x129x144xf32>) -> tensor<1x129x129x144xf32>
    %1 = "kiln.generic"(%0) ({
    ^bb0(%a: f32, %o: f32):
      %r = math.roundeven %a : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "round", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x129x129x144xf32>) -> tensor<1x129x129x144xf32>
    %2 = "kiln.generic"(%1) ({
    ^bb0(%a: f32, %o: f32):
      %c = arith.constant -128.0 : f32
      %r = arith.addf %a, %c : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "add_zp", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x129x129x144xf32>) -> tensor<1x129x129x144xf32>
    %3 = "kiln.generic"(%2) ({
    ^bb0(%a: f32, %o: f32):
      %lo = arith.constant -128.0 : f32
      %hi = arith.constant 127.0 : f32
      %m = arith.maxf %a, %lo : f32
      %r = arith.minf %m, %hi : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "clamp", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x129x129x144xf32>) -> tensor<1x129x129x144xf32>
    %4 = "kiln.generic"(%3) ({
    ^bb0(%a: f32, %o: i8):
      %r = arith.fptosi %a : f32 to i8
      "kiln.yield"(%r) : (i8) -> ()
    }) {kiln.name = "to_i8", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x129x129x144xf32>) -> tensor<1x129x129x144xi8>
    %5 = "kiln.generic"(%4) ({
    ^bb0(%a: i8, %o: f32):
      %r = arith.sitofp %a : i8 to f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "to_f32", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x129x129x144xi8>) -> tensor<1x129x129x144xf32>
    %6 = "kiln.generic"(%5) ({
    ^bb0(%a: f32, %o: f32):
      %c = arith.constant -128.0 : f32
      %r = arith.subf %a, %c : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "sub_zp", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x129x129x144xf32>) -> tensor<1x129x129x144xf32>
    %7 = "kiln.generic"(%6) ({
    ^bb0(%a: f32, %o: f32):
      %c = arith.constant 0.0235 : f32
      %r = arith.mulf %a, %c : f32
      "kiln.yield"(%r) : (f32) -> ()
    }) {kiln.name = "mul_scale", indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} : (tensor<1x129x129x144xf32>) -> tensor<1x129x129x144xf32>
    return %7 : tensor<1x129x129x144xf32>
  }
}
