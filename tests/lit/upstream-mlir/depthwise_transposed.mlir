// A TensorFlow-style NHWC graph as IREE's input dump shows it: a transpose to NCHW feeds
// linalg.depthwise_conv_2d_nchw_chw (padding by a tensor.pad), the result is clamped
// (relu6 as cmpf/select) and written back transposed. Kiln must make this one dispatch
// with no transpose left: the transposes cancel once the depthwise conv is channels-last.
// RUN: %kiln compile %s --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s | FileCheck %s --check-prefix=REPORT
// CHECK-LABEL: func.func @main
// CHECK-NOT: "kiln.transpose"
// CHECK: "kiln.depthwise_conv_2d"(%arg0, %{{.*}}) {{.*}}pads = array<i64: 1, 1, 1, 1>, layout = "nhwc"
// CHECK-NOT: "kiln.transpose"
// CHECK: return
// REPORT: dispatch_0_depthwise_conv_nhwc_3x3_1x16x16x8_f32
// REPORT: dispatches: 1
// REPORT: data-movement dispatches: 0
// REPORT: transposes left: 0
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> ()>
module {
  util.func public @main(%arg0: tensor<1x16x16x8xf32>) -> tensor<1x16x16x8xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant dense<0.000000e+00> : tensor<f32>
    %cst_1 = arith.constant dense<6.000000e+00> : tensor<f32>
    %cst_2 = arith.constant dense<"0x9C34BBBED6E2B13E780D873E2FCF7ABE449595BB75E24EBD303B1B3E8CD3933EA3F1CFBE717CF1BE67E9AB3E6BB189BD9349863EF5EBFEBEADB15FBD64DB623EAEDF8ABE85FAE33EE687CD3E8256F0BEC3F8F2BE20A0293D29D8E03E314BF3BDE21991BE58819FBD9121F1BE6E7E8EBE94697EBD773989BB28A988BEDCCB89BEEFFB8FBED67625BD7D4357BE4DFFF4BE05D7AC3EA63C673D9DB5113EE5D0A0BEA62EFC3EE94AB83EB61AC2BEF4512BBECFCC623EA842583E2475DF3E5D869FBD70FAA83E95642E3EC45949BE765DB33D4AD4C33ECA40B13EE623AD3BD146B63DA152EEBE96B783BE5F45983E247CAFBD936BA7BE36E1473DEBE94F3E6AAC323EDA4D00BE5F037ABD410F0A3C08908E3E0B87AB3C139DDABD82DC28BC8DDBF0BE"> : tensor<8x3x3xf32>
    %0 = tensor.empty() : tensor<1x8x16x16xf32>
    %transposed = linalg.transpose ins(%arg0 : tensor<1x16x16x8xf32>) outs(%0 : tensor<1x8x16x16xf32>) permutation = [0, 3, 1, 2] 
    %padded = tensor.pad %transposed low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%arg1: index, %arg2: index, %arg3: index, %arg4: index):
      tensor.yield %cst : f32
    } : tensor<1x8x16x16xf32> to tensor<1x8x18x18xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32>
    %2 = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%padded, %cst_2 : tensor<1x8x18x18xf32>, tensor<8x3x3xf32>) outs(%1 : tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%2, %cst_0, %cst_1 : tensor<1x8x16x16xf32>, tensor<f32>, tensor<f32>) outs(%0 : tensor<1x8x16x16xf32>) {
    ^bb0(%in: f32, %in_3: f32, %in_4: f32, %out: f32):
      %5 = arith.cmpf ult, %in, %in_3 : f32
      %6 = arith.select %5, %in_3, %in : f32
      %7 = arith.cmpf ugt, %6, %in_4 : f32
      %8 = arith.select %7, %in_4, %6 : f32
      linalg.yield %8 : f32
    } -> tensor<1x8x16x16xf32>
    %4 = tensor.empty() : tensor<1x16x16x8xf32>
    %transposed_5 = linalg.transpose ins(%3 : tensor<1x8x16x16xf32>) outs(%4 : tensor<1x16x16x8xf32>) permutation = [0, 2, 3, 1] 
    util.return %transposed_5 : tensor<1x16x16x8xf32>
  }
}
