// IREE's global-optimization dumps hold every conv and matmul as a linalg.generic
// computing `out += x * w`, often with the unit batch dim dropped. The importer raises
// those contractions back to Kiln's named ops (so the backend uses its microkernels):
// a 3x3 stride-2 conv (x: (c, oh * 2 + kh, ow * 2 + kw), w: (f, c, kh, kw)), a depthwise
// 3x3 conv (c parallel in x, w and y), a 1x1 conv as a contraction over c, and an f16
// contraction accumulating in f32 (arith.extf in the body) become conv_2d,
// depthwise_conv_2d and matmuls; tests/models/upstream_mlir.py compares this graph with
// iree-run-module.
// RUN: %kiln print %s | FileCheck %s --check-prefix=IMPORT
// RUN: %kiln compile %s --verify-each --emit-ir | FileCheck %s
// RUN: %kiln report %s | FileCheck %s --check-prefix=REPORT
// IMPORT-NOT: "kiln.generic"{{.*}}reduction
// IMPORT: "kiln.conv_2d"({{.*}}strides = array<i64: 2, 2>{{.*}}layout = "nchw"
// IMPORT: "kiln.depthwise_conv_2d"({{.*}}layout = "nchw"
// IMPORT: "kiln.matmul"
// IMPORT: "kiln.matmul"
// IMPORT-NOT: "kiln.generic"{{.*}}reduction
// CHECK-LABEL: func.func @main
// CHECK: "kiln.conv_2d"({{.*}}layout = "nhwc"
// CHECK: "kiln.depthwise_conv_2d"({{.*}}layout = "nhwc"
// CHECK: return
// REPORT-NOT: reduction
// REPORT: dispatches: 4
#map = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d1 * 2 + d4, d2 * 2 + d5)>
#map1 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d4, d5)>
#map2 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2)>
#map3 = affine_map<(d0, d1, d2, d3, d4) -> (d2, d0 + d3, d1 + d4)>
#map4 = affine_map<(d0, d1, d2, d3, d4) -> (d2, d3, d4)>
#map5 = affine_map<(d0, d1, d2, d3, d4) -> (d2, d0, d1)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d3, d1, d2)>
#map7 = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#map8 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map9 = affine_map<(d0, d1, d2) -> (d0, d2)>
#map10 = affine_map<(d0, d1, d2) -> (d1, d2)>
#map11 = affine_map<(d0, d1, d2) -> (d0, d1)>
module {
  util.func public @main(%arg0: tensor<3x17x17xf32>, %arg1: tensor<2x6xf16>) -> (tensor<4x8x8xf32>, tensor<2x5xf32>) {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_w = arith.constant dense<"0xE2B3FB3D0297773E9C23973ED888E23EF9A7753EFB3AD83E3A26F1BE42CF0CBDA7FFE23EC98C183ED442CD3EDE09C6BEE962FDBC35C181BE963E333D7A6E973D1949F9BECB0891BE60CF61BE382BD53E2B0D883E5B48AEBEA723983E7AF3B8BEF28AF03D4721BFBE5E17FFBEC328BE3E22C294BE74AC91BEE6FFF63E3BACBE3E63C057BED846EC3ECAA8203D3119363E242797BE9BC7E13EA437433E84E1EE3E8298C93E480A4EBE3A240EBECF07ABBE8F66B5BE02A6DEBE85684BBE562BD33D9144FEBE6534363E5DFE25BE639A42BECD14A33E45BC9DBCBBA03CBEE6DB99BCC994513EC6D0E2BE4040F33EF74AF4BE44CA7F3E3A94B03EDABFF6BE6F52933EF00609BE7BCEA03D145AFBBE6213E8BE855EA3BE570DE93E83619BBEE2EF823EC8FBDB3E9253E23E605A1FBE17B114BE795BCA3CD71B8D3E4BADC8BE0F5C7E3E182E983EDB29B83EA03EEDBEEC3FE43EDF50D1BEEA1423BE8CF9E23D860FD63EA6E123BE6E30D93EF4E8383D030D40BEC9983BBEA221A5BEAAF6D7BE91C7B3BEFCB6413EFA52FE3E034CADBE2C24E7BEA030F93E8857093DC8BDC0BDD17B86BE376EC03D3510A73E839835BDB83DA0BD587AE3BE0B07D53E2A3FEFBE6BE3D2BB9A46AD3EB125BDBE70396D3EFF4BE63E6487053EFD75933EB667C9BEEE0786BD1D96B3BEF680B03E8F1C52BEA2E03FBD3EA4FF3E765AB43E44B7F33EDA4C3EBDC20042BC5D036B3E2BAFABBC2BFE55BE0E0AC5BD1EFDB4BE08E7FBBDF40DFA3EFD6CEB3E1B03023E919D31BAD36525BE955CD2BE882769BECA64903E201ABC3E7F000EBE8D71923E71BF8C3E5F44473E74F4273E5EEF843E8BD80BBE7960513E526860BE86886ABC571C8A3ED276433E731853BECF1EE43EE648193E8131A53D1A12FABE8679403D854A7FBE2AC32F3E49CD17BDD623A23EB6F9163E6E62983E2AC41BBE4585133E0389733E5808A83EC48D19BEEA8DAF3E0265BD3E67DB403E4AC6F33E87BCE93E2599943C9C5AF03C6CEBAABE7E59AC3E7EF0DF3E6B75BABC1205443E7EF5603EC5E16B3E5306A8BEDF8C8F3E3992A53D9287293ECA37A2BDE069FD3D1AA68C3EC7260C3E55B4613E87DBF1BE7511AEBE3F6271BD4AB8193E3BDA8FBE936B3E3E8401063E1A91EABE84C5E8BCEE298CBE5E47E4BE5DA2BBBE62083BBE3E0CA3BEE8FF9CBE4BBEEDBEF5010EBDE025F5BD3AF4E43D1DA8B83D"> : tensor<8x3x3x3xf32>
    %cst_dw = arith.constant dense<"0xFF3886BEEA6DCE3E69A9FFBE5CCAC1BD8AC962BEBC3BB8BDF714C5BE56A9A93EB12501BE4489EDBE4A94E83D8973CFBE8339393D537B24BEEDACA53D5DA6EA3E5115A33EE4ADA5BD3540A03E2FB6113ECFB005BE083DB7BEF47AC43D94C8823DC517EA3E4B9DEF3EDD6EDE3D077518BE8274C93ED083FFBEEDBEC8BE73C8863D39DDEB3D1BF6B7BE3190043E1656C83E3F43FEBD5EE98BBDB51D8CBE728255BE93E5F13EA035F6BD6C1AEC3EAFD6D33E0638C43D87F075BE1643F63E581F72BBAE12ADBD133039BE17F3F73E391707BC64BA5ABE58F1BCBC2898C1BED636F93D7C8E67BDC8DC53BECF3B903E0653A73E6B3DF9BE8362053D38A467BE80D9DE3E2556903ED43882BE10E36DBE8EC2B0BE4C47FA3E75C653BED042DD3DC2D1CFBC"> : tensor<8x3x3xf32>
    %cst_pw = arith.constant dense<"0x8A5A143E43B1D43D0C51793E0B7EC3BEFA52853EFC174CBE1D35093DBACF27BEDA0D50BEB4ACF43CA31312BDB14B0EBEC9E57A3ED0F7B93D3059EDBED7847DBE63CE35BD1649D53E26A0C63EFABE3A3D868BF8BE2C888E3E7D0194BD15EA9A3D752D553EB468073E5D7294BC59CCD23E0E8DEABD8575DDBD6B2CB43E87689BBE"> : tensor<4x8xf32>
    %cst_h = arith.constant dense<"0x83B24835F1B661353A324DACD6B27E349236B8B587A5492ABF986BB18BB57F2DFD34E8B652B41D35AB343C3197B72033A937F937713238B779357EB4"> : tensor<5x6xf16>
    %cst_b = arith.constant dense<[0.5, -0.25, 0.125, 1.0]> : tensor<4xf32>
    %0 = tensor.empty() : tensor<8x8x8xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%arg0, %cst_w : tensor<3x17x17xf32>, tensor<8x3x3x3xf32>) outs(%1 : tensor<8x8x8xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %10 = arith.mulf %in, %in_0 : f32
      %11 = arith.addf %out, %10 : f32
      linalg.yield %11 : f32
    } -> tensor<8x8x8xf32>
    %padded = tensor.pad %2 low[0, 1, 1] high[0, 1, 1] {
    ^bb0(%a: index, %b: index, %c: index):
      tensor.yield %cst : f32
    } : tensor<8x8x8xf32> to tensor<8x10x10xf32>
    %3 = linalg.generic {indexing_maps = [#map3, #map4, #map5], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%padded, %cst_dw : tensor<8x10x10xf32>, tensor<8x3x3xf32>) outs(%1 : tensor<8x8x8xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %10 = arith.mulf %in, %in_0 : f32
      %11 = arith.addf %out, %10 : f32
      linalg.yield %11 : f32
    } -> tensor<8x8x8xf32>
    %4 = tensor.empty() : tensor<4x8x8xf32>
    %broadcasted = linalg.broadcast ins(%cst_b : tensor<4xf32>) outs(%4 : tensor<4x8x8xf32>) dimensions = [1, 2] 
    %5 = linalg.generic {indexing_maps = [#map6, #map7, #map8], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%3, %cst_pw : tensor<8x8x8xf32>, tensor<4x8xf32>) outs(%broadcasted : tensor<4x8x8xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %10 = arith.mulf %in, %in_0 : f32
      %11 = arith.addf %out, %10 : f32
      linalg.yield %11 : f32
    } -> tensor<4x8x8xf32>
    %6 = tensor.empty() : tensor<2x5xf32>
    %7 = linalg.fill ins(%cst : f32) outs(%6 : tensor<2x5xf32>) -> tensor<2x5xf32>
    %8 = linalg.generic {indexing_maps = [#map9, #map10, #map11], iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg1, %cst_h : tensor<2x6xf16>, tensor<5x6xf16>) outs(%7 : tensor<2x5xf32>) {
    ^bb0(%in: f16, %in_0: f16, %out: f32):
      %10 = arith.extf %in : f16 to f32
      %11 = arith.extf %in_0 : f16 to f32
      %12 = arith.mulf %10, %11 : f32
      %13 = arith.addf %out, %12 : f32
      linalg.yield %13 : f32
    } -> tensor<2x5xf32>
    util.return %5, %8 : tensor<4x8x8xf32>, tensor<2x5xf32>
  }
}
