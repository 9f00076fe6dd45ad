// Guards: max, min and div on ui8 values print as arith.maxui / minui / divui (MLIR's i8 is
// signless, so maxsi would compare 200 as -56), and those names parse back to the same
// ops. The backend test (tests/backend/compare_lit.py) also runs this graph compiled and
// on the interpreter and compares.
// RUN: %kiln print %s | FileCheck %s
// RUN: %kiln print %s > %t.mlir && %kiln print %t.mlir | FileCheck %s

// CHECK: arith.maxui {{.*}} {kiln.unsigned} : i8
// CHECK: arith.minui {{.*}} {kiln.unsigned} : i8
// CHECK: arith.divui {{.*}} {kiln.unsigned} : i8
module {
  func.func @main(%arg0: tensor<4xf32> {kiln.name = "x"}) -> (tensor<4xf32> {kiln.name = "y"}) {
    %0 = "kiln.generic"(%arg0) ({
    ^bb0(%a: f32, %o: f32):
      %s = arith.constant 100.0 : f32
      %p = arith.mulf %a, %s : f32
      %lo = arith.constant 0.0 : f32
      %hi = arith.constant 255.0 : f32
      %m0 = arith.maxf %p, %lo : f32
      %m1 = arith.minf %m0, %hi : f32
      %q = arith.fptoui %m1 {kiln.unsigned} : f32 to i8
      %c = arith.constant {kiln.unsigned} 200 : i8
      %m = arith.maxui %q, %c {kiln.unsigned} : i8
      %n = arith.minui %m, %c {kiln.unsigned} : i8
      %t = arith.constant {kiln.unsigned} 3 : i8
      %d = arith.divui %n, %t {kiln.unsigned} : i8
      %f = arith.uitofp %d : i8 to f32
      "kiln.yield"(%f) : (f32) -> ()
    }) {kiln.name = "u8ops", indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} : (tensor<4xf32>) -> tensor<4xf32>
    return %0 : tensor<4xf32>
  }
}
