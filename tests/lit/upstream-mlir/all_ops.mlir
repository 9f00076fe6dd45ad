// Every upstream op the importer maps, in IREE's pretty syntax, in one graph that the
// pipeline checks numerically pass by pass (--verify-each); tests/models/upstream_mlir.py
// also compares this graph with iree-run-module where IREE is installed. Covers:
// conv_2d_nhwc_hwcf (stride 2, tensor.pad in front), conv_2d_nhwc_fhwc (weights
// transposed to hwcf), depthwise_conv_2d_nhwc_hwc, a bias broadcast as the `outs`
// accumulator, pooling_nhwc_max (-inf fill) and pooling_nhwc_sum, matmul and batch_matmul,
// linalg.transpose / broadcast, a reducing linalg.generic (fill init), a generic reading
// its `outs`, a scalar `ins`, tensor.extract_slice (rank-reducing, strided), insert_slice
// pieces that become a concat or a pad, tensor.concat, collapse/expand_shape,
// flow.dispatch.region.
// RUN: %kiln compile %s --verify-each --emit-ir | FileCheck %s
// RUN: %kiln print %s | FileCheck %s --check-prefix=IMPORT
// IMPORT: "kiln.pad"
// IMPORT: "kiln.conv_2d"({{.*}}strides = array<i64: 2, 2>{{.*}}layout = "nhwc"
// IMPORT: "kiln.transpose"({{.*}}perm = array<i64: 1, 2, 3, 0>
// IMPORT: "kiln.depthwise_conv_2d"({{.*}}layout = "nhwc"
// IMPORT: "kiln.pooling"({{.*}}pool_kind = "max"
// IMPORT: "kiln.pooling"({{.*}}pool_kind = "avg", count_include_pad = true
// IMPORT: "kiln.matmul"
// IMPORT: "kiln.matmul"
// IMPORT: "kiln.extract_slice"
// IMPORT: "kiln.concat"
// IMPORT: "kiln.pad"({{.*}}pad_lo = array<i64: 1, 1, 0>, pad_hi = array<i64: 1, 1, 0>, pad_mode = "constant", pad_value = 5.0e-01
// IMPORT: "kiln.concat"
// CHECK-LABEL: func.func @main
// CHECK: return
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d3)>
#map2 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d2)>
#map4 = affine_map<(d0, d1, d2, d3) -> ()>
module {
  util.func public @main(%arg0: tensor<1x9x9x4xf32>, %arg1: tensor<2x5x6xf32>) -> (tensor<1x4x4x8xf32>, tensor<2x5x3xf32>, tensor<1x8xf32>, tensor<4x4x6xf32>) {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_ninf = arith.constant 0xFF800000 : f32
    %cst_half = arith.constant 5.000000e-01 : f32
    %cst_w1 = arith.constant dense<"0x2F6534BEE6C3B2BE918E1A3EA2E9DABE02F9123DD88809BEF74DE2BE73A7F33B5ECDECBEC6E487BDE93BDCBE108ED1BEAF959ABD2959A73E089DC0BE9FB38DBEDB7D023E1B3AE53E27E89D3D3099D3BDB6D7F33E5126E8BE2E89B73EAA7057BE3324B6BEBCB0C3BE571D44BE50DBA13ED577A3BEFD1DA73D553F0E3E38AA02BEB38F433D20DADFBEF57BE1BE948C96BEC5BA383E7C4A94BD34503EBE0F3BAF3DBDC13FBDE1094DBEE8B8963E32C54B3EC80583BE756B983DE668CE3C0612C03EB5F36A3ED82659BE7AD9F53EE28CC3BE39AFA7BDFAA7833E152FB2BE1DD434BC07EDEBBEC7402C3ED575873EA08E953DA13EC03EF9B83EBE82FB473EFE44C13D19A0A33D0A6233BD4210AE3E3EADE33EB92FD4BC8417283EF0EFE0BEED534E3EF2A8163E1277FC3E53D3A43EFD925CBE2DE6E9BD4CB32C3EA272F4BE67E51CBD90F5A9BE050CC4BEBAD0E1BED655893E1EC7BDBEA13881BEC355DFBD052BBE3E0CBED6BEDF2050BD81814A3DE34AC43EA678A33E2C5CBA3E97E562BE0579ADBD4B9E10BEECB4C43EBF5BEA3E7FBAB2BECAC6A5BEF33C89BE2C8888BEE15E76BC6286B63D8DF272BE71E7FDBE60FFA5BD64E205BEE8DD873D74FCE73EC510433EC8CF7D3C78D4F03DCB6D343E0B5BE4BE978FCC3E29588F3E31C0BF3ED382983E7368DCBD30E4CEBD30FDCABE3483093E0E21E0BE9D84DDBEFE1C95BE99E6ACBEFAC823BECF14E5BE6CE1FFBE678DB2BEDD0CCCBED7A90BBE8CF1F2BE7EA8BF3E009DE93D31F1B3BE25B07DBEEA451CBEBD180BBED31AC1BEDCA7B23EF677FC3EA34E0BBD2F6D84BCED06D4BE11AECBBE122421BE92E370BEBB5FA83EEB57ADBECC2CF4BE95E7E63E0D7CE73C83F0B4BE92D5303D7D27F2BEC545E63C1DFEF43EBD05BA3ECFE7483E389E74BEDA7F08BE7779AABE723B8B3E9B7F053D48E08E3E4D6C2EBE7BCD8DBE677E9F3E3A48F83EC38BB43E55B69C3E89FCA23E46A1753ECDE88BBE167F903C6AE713BE8429F1BE3BB2F1BE1BE061BEFF9A76BE7924453E58BCE93ECA2758BD3EC1DF3E20E0F93ED8F5E83EE49C0ABE901F8FBEDDDA8BBE54499BBE605C97BE8616FE3D37F5CC3E914DAE3E5827A8BC47A61C3EE86A993EEA97D4BE9170243E4FCED13E018A903E6912803EACF4B3BCCD98A4BE8F09943E9C802BBE8C059A3E107DF13EA152D5BDB5F5C9BD94C2E43E9F31663E48F5A8BED4F4BEBE609CB2BEC648CF3ED4ED9C3EA428B5BE622CA73EA9EAF53EF00A213EC62E19BEC14F473DAFEFBCBE26B5F8BE8418F13E5144193E7FC0D93C1204DE3EEB8E87BD1755BE3ED2FDA63E42F293BE041F7EBE8D0054BE05D884BEF805B13D136976BEBFDCA5BDE9E3BCBEC1EDD13EA4B915BE635F2BBDC3B2AA3DFDFFCE3EA58DA2BD8ADFD53E4821D83AE45A023DE290C03C516CF6BE943F75BDAF3FA2BE90FCFDBEDF2C993E2CC2A7BE5A25D9BC1199663EFC52673DBC3132BE0A50963C0517633D298C913E07ACC9BE14F9763D5AC580BEDA6F64BECF658B3EA7C5FC3BF4D77C3DD21D853EA231D33E5F7468BD0575E63D0AF7B53BEA40473C475B453E0F3143BD5056083D2EEDB3BC700CE23EC6FF4B3E42C9C03E7E65E23E702D76BE"> : tensor<3x3x4x8xf32>
    %cst_w2 = arith.constant dense<"0xC0C4733DE6F3E23E7414AE3E84C9B9BEC4BAC1BE95156DBD3DDBDABEFFCA84BEEA8FDABE1B8A2D3E1060913E0C47CB3E5FECB0BE884E5D3E491A243E75CBB6BEAA02C43E0862EF3E2F928FBE9FAEE73EB35ED0BD2FB850BC6ED0FA3E3036AA3E5254ADBE4A3E8CBD5BAC7F3CBDBE24BE5BC79BBE6FD439BE827B633E5506F6BECB635D3D35E273BDF5BDF6BED18B2CBE7ACDFD3DC0E7483C4715DFBED55CF83E53A4933E2282F13E545ACABEEB0F70BE19BBEBBEC0D88E3E2E106BBEE5AABDBE33399FBDD5A4D23E3651A33E332F77BE0B86B3BEA69DD63E1294903D3B3A4D3E0232D2BEE38BE2BEF6B8403E61F398BD8AECDABE606FE03E83AA093E106F9A3E"> : tensor<8x1x1x8xf32>
    %cst_dw = arith.constant dense<"0xB31FD5BE9A63B63EA7E3DDBEA4BDB93EFA573DBD66B524BEC359593D6574DA3E2DB66DBE3FD6BDBEE77CDC3CB2EB85BEFAF5C7BE8B56ADBEA134E6BED5B198BE108540BEAAAC47BEF5DC843E821457BEB0CEB9384EEAA4BEC4AB1CBE53B3F6BE5C8A7FBE8E24F8BEA0AC6E3EE418513D8FFF9EBEC7C2CEBC8289DE3E7E95C9BE8049A33E7AE68ABDD7C9A3BB8452AB3EB0F5DABDD515DB3B5F3F403E7202F73E0A1221BE7621AA3ED3AF533E8B3D0B3ED92DC3BD481B1CBE3027E4BE6B88BDBE38CADBBEA8AB763E99457ABEF46AACBE66BED4BECFBAAE3E22B7BD3EE7A22E3EE24C5FBEABFC83BE79E853BEAC1426BDD857AFBE04E75DBD697072BE496FEC3EA4FBF13E03D0403DE9D782BEE06BEE3EDF0543BEAADB12BEE573FFBEC06DF2BD"> : tensor<3x3x8xf32>
    %cst_b = arith.constant dense<[-0.0507, 0.0055, -0.5980, 0.0095, -0.9901, -0.4717, -0.8205, -0.2010]> : tensor<8xf32>
    %cst_m = arith.constant dense<"0xA1AAEABEA67BF4BE1D7448BE2FCD88BE4A46AF3DEB1EEF3CDD46803E2153213E622D5D3E2D18C23E3045E2BDBB0932BE692EF83E9179B3BE1789653E1FA8123E9C94E9BE12ABAB3EABACC83E5A63023EEE766F3E28DB9F3EACACB8BEA39EC23C093B8F3BF17CAB3EB4FE9B3E191FA73E7228AC3DFB20C93EEC483B3E49F7453E36458ABEBA0BF0BE35DBBBBEB3A20EBE6348CABEC2F0AB3E44BA6F3D62D5023E8241013E0800393EE6662FBC964DFEBED06B983E47397E3EFDB5423BAE2D103D681F233EA62EDEBEA478723EFBC07DBEB1E1D9BE811170BECED66A3EBAED96BEA095753E8D93F33E5249C6BB2284F0BDE0F2ABBCF41A3C3E4EB0883E1390EF3D"> : tensor<8x8xf32>
    %cst_bm = arith.constant dense<"0x7530123E9D55D8BEB384B4BE14F77BBEF20D793EE04648BEA5C68A3DA39DF9BE0AF1E0BED5C66CBE2F21303E31CC443EB5EC333EB82956BEDD75873CAFBD10BDF4DF09BD9853C3BE308EC93EE6FB99BEE6CCF43EBB5CDF3EA809F7BE360E28BDA1C9A33EE2ABEF3E800C4FBD1EE56CBE379094BE0424E43EFA1D94BEFCDAA63DC46DB7BE7525C53C95CDE73E301BBCBE"> : tensor<2x6x3xf32>
    %cst_s = arith.constant dense<2.000000e+00> : tensor<f32>
    %padded = tensor.pad %arg0 low[0, 0, 0, 0] high[0, 0, 0, 0] {
    ^bb0(%a: index, %b: index, %c: index, %d: index):
      tensor.yield %cst : f32
    } : tensor<1x9x9x4xf32> to tensor<1x9x9x4xf32>
    %0 = tensor.empty() : tensor<1x4x4x8xf32>
    %broadcasted = linalg.broadcast ins(%cst_b : tensor<8xf32>) outs(%0 : tensor<1x4x4x8xf32>) dimensions = [0, 1, 2] 
    %1 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%padded, %cst_w1 : tensor<1x9x9x4xf32>, tensor<3x3x4x8xf32>) outs(%broadcasted : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %3 = linalg.conv_2d_nhwc_fhwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%1, %cst_w2 : tensor<1x4x4x8xf32>, tensor<8x1x1x8xf32>) outs(%2 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %4 = flow.dispatch.region -> (tensor<1x4x4x8xf32>) {
      %padded_0 = tensor.pad %3 low[0, 1, 1, 0] high[0, 1, 1, 0] {
      ^bb0(%a: index, %b: index, %c: index, %d: index):
        tensor.yield %cst : f32
      } : tensor<1x4x4x8xf32> to tensor<1x6x6x8xf32>
      %5 = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%padded_0, %cst_dw : tensor<1x6x6x8xf32>, tensor<3x3x8xf32>) outs(%2 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
      %6 = linalg.generic {indexing_maps = [#map, #map4, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%5, %cst_half : tensor<1x4x4x8xf32>, f32) outs(%1 : tensor<1x4x4x8xf32>) {
      ^bb0(%in: f32, %in_1: f32, %out: f32):
        %7 = arith.mulf %in, %in_1 : f32
        %8 = arith.addf %7, %out : f32
        %9 = math.rsqrt %cst_half : f32
        %10 = arith.mulf %8, %9 : f32
        linalg.yield %10 : f32
      } -> tensor<1x4x4x8xf32>
      flow.return %6 : tensor<1x4x4x8xf32>
    }
    %11 = tensor.empty() : tensor<1x2x2x8xf32>
    %12 = linalg.fill ins(%cst_ninf : f32) outs(%11 : tensor<1x2x2x8xf32>) -> tensor<1x2x2x8xf32>
    %13 = tensor.empty() : tensor<2x2xf32>
    %14 = linalg.pooling_nhwc_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%4, %13 : tensor<1x4x4x8xf32>, tensor<2x2xf32>) outs(%12 : tensor<1x2x2x8xf32>) -> tensor<1x2x2x8xf32>
    %15 = linalg.fill ins(%cst : f32) outs(%11 : tensor<1x2x2x8xf32>) -> tensor<1x2x2x8xf32>
    %16 = linalg.pooling_nhwc_sum {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%4, %13 : tensor<1x4x4x8xf32>, tensor<2x2xf32>) outs(%15 : tensor<1x2x2x8xf32>) -> tensor<1x2x2x8xf32>
    %17 = tensor.empty() : tensor<1x8xf32>
    %18 = linalg.fill ins(%cst : f32) outs(%17 : tensor<1x8xf32>) -> tensor<1x8xf32>
    %19 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d3)>], iterator_types = ["parallel", "reduction", "reduction", "parallel"]} ins(%14 : tensor<1x2x2x8xf32>) outs(%18 : tensor<1x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %20 = arith.addf %in, %out : f32
      linalg.yield %20 : f32
    } -> tensor<1x8xf32>
    %21 = linalg.matmul ins(%19, %cst_m : tensor<1x8xf32>, tensor<8x8xf32>) outs(%18 : tensor<1x8xf32>) -> tensor<1x8xf32>
    %22 = tensor.empty() : tensor<2x5x3xf32>
    %23 = linalg.fill ins(%cst : f32) outs(%22 : tensor<2x5x3xf32>) -> tensor<2x5x3xf32>
    %24 = linalg.batch_matmul ins(%arg1, %cst_bm : tensor<2x5x6xf32>, tensor<2x6x3xf32>) outs(%23 : tensor<2x5x3xf32>) -> tensor<2x5x3xf32>
    %25 = tensor.empty() : tensor<3x5x2xf32>
    %transposed = linalg.transpose ins(%24 : tensor<2x5x3xf32>) outs(%25 : tensor<3x5x2xf32>) permutation = [2, 1, 0] 
    %26 = tensor.empty() : tensor<2x5x3xf32>
    %transposed_2 = linalg.transpose ins(%transposed : tensor<3x5x2xf32>) outs(%26 : tensor<2x5x3xf32>) permutation = [2, 1, 0] 
    %extracted_slice = tensor.extract_slice %4[0, 0, 0, 0] [1, 2, 4, 8] [1, 1, 1, 1] : tensor<1x4x4x8xf32> to tensor<2x4x8xf32>
    %27 = tensor.empty() : tensor<4x4x8xf32>
    %inserted_slice = tensor.insert_slice %extracted_slice into %27[0, 0, 0] [2, 4, 8] [1, 1, 1] : tensor<2x4x8xf32> into tensor<4x4x8xf32>
    %inserted_slice_3 = tensor.insert_slice %extracted_slice into %inserted_slice[2, 0, 0] [2, 4, 8] [1, 1, 1] : tensor<2x4x8xf32> into tensor<4x4x8xf32>
    %collapsed = tensor.collapse_shape %16 [[0, 1], [2], [3]] : tensor<1x2x2x8xf32> into tensor<2x2x8xf32>
    %expanded = tensor.expand_shape %collapsed [[0], [1], [2, 3]] output_shape [2, 2, 4, 2] : tensor<2x2x8xf32> into tensor<2x2x4x2xf32>
    %28 = tensor.empty() : tensor<4x4x8xf32>
    %29 = linalg.fill ins(%cst_half : f32) outs(%28 : tensor<4x4x8xf32>) -> tensor<4x4x8xf32>
    %collapsed_6 = tensor.collapse_shape %expanded [[0], [1], [2, 3]] : tensor<2x2x4x2xf32> into tensor<2x2x8xf32>
    %inserted_slice_5 = tensor.insert_slice %collapsed_6 into %29[1, 1, 0] [2, 2, 8] [1, 1, 1] : tensor<2x2x8xf32> into tensor<4x4x8xf32>
    %concat = tensor.concat dim(2) %inserted_slice_3, %inserted_slice_5 : (tensor<4x4x8xf32>, tensor<4x4x8xf32>) -> tensor<4x4x16xf32>
    %extracted_slice_4 = tensor.extract_slice %concat[0, 0, 1] [4, 4, 6] [1, 1, 2] : tensor<4x4x16xf32> to tensor<4x4x6xf32>
    util.return %4, %transposed_2, %21, %extracted_slice_4 : tensor<1x4x4x8xf32>, tensor<2x5x3xf32>, tensor<1x8xf32>, tensor<4x4x6xf32>
  }
}
