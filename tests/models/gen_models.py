#!/usr/bin/env python3
"""Generates the model suite as ONNX files: PyTorch exports with random weights from a
fixed seed (nothing is downloaded). Usage: gen_models.py OUT_DIR [NAME ...]

Each model is written to OUT_DIR/NAME.onnx only if it is missing or older than this
script, so the build tree caches them.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 1234


def randomize_bn(model, gen):
    """Random BatchNorm statistics so BN folding and the oracle see non-trivial values."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def dilate_for_output_stride(features, output_stride):
    """DeepLab's trick: past the wanted output stride, drop conv strides and dilate the
    following 3x3 convs instead, so the feature map stays at 1/output_stride."""
    stride, rate = 1, 1
    for m in features.modules():
        if not isinstance(m, nn.Conv2d):
            continue
        if m.stride == (2, 2):
            if stride >= output_stride:
                m.stride = (1, 1)
                if m.kernel_size == (3, 3):
                    m.dilation, m.padding = (rate, rate), (rate, rate)
                rate *= 2
                continue
            stride *= 2
        if m.kernel_size == (3, 3) and rate > 1:
            m.dilation, m.padding = (rate, rate), (rate, rate)


class DeepLabV3MobileNetV2(nn.Module):
    """torchvision's MobileNetV2 features (dilated) + the DeepLabV3 ASPP head + a bilinear
    upsample back to the input size."""

    def __init__(self, output_stride=16, num_classes=21):
        super().__init__()
        from torchvision.models import mobilenet_v2
        from torchvision.models.segmentation.deeplabv3 import DeepLabHead
        self.backbone = mobilenet_v2(weights=None).features
        dilate_for_output_stride(self.backbone, output_stride)
        self.head = DeepLabHead(1280, num_classes)

    def forward(self, x):
        size = x.shape[-2:]
        y = self.head(self.backbone(x))
        return F.interpolate(y, size=size, mode="bilinear", align_corners=False)


def to_tf2onnx_style(src, dst):
    """Rewrites a PyTorch DeepLabV3 export the way tf2onnx would have produced it:
    NHWC graph input + Transpose to NCHW, explicit Pad nodes (TensorFlow SAME padding)
    in front of the stride-2 convs instead of conv padding, and a Transpose to NHWC before
    the output. ReLU6 is already Clip in the PyTorch export."""
    import onnx
    from onnx import helper
    m = onnx.load(src)
    g = m.graph
    nodes = []
    for n in g.node:
        attrs = {a.name: a for a in n.attribute}
        strides = list(attrs["strides"].ints) if "strides" in attrs else [1, 1]
        pads = list(attrs["pads"].ints) if "pads" in attrs else [0, 0, 0, 0]
        if n.op_type == "Conv" and strides == [2, 2] and any(pads):
            padded = n.input[0] + "__tfpad_" + n.name
            pad_vals = helper.make_tensor(padded + "_pads", onnx.TensorProto.INT64, [8],
                                          [0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]])
            g.initializer.append(pad_vals)
            nodes.append(helper.make_node("Pad", [n.input[0], pad_vals.name], [padded],
                                          name=n.name + "/pad", mode="constant"))
            n.input[0] = padded
            del attrs["pads"].ints[:]
            attrs["pads"].ints.extend([0, 0, 0, 0])
        nodes.append(n)
    (inp,), (out,) = g.input, g.output
    nchw_in = [d.dim_value for d in inp.type.tensor_type.shape.dim]
    nchw_out = [d.dim_value for d in out.type.tensor_type.shape.dim]
    old_in, old_out = inp.name, out.name
    new_in = helper.make_tensor_value_info("input_nhwc", onnx.TensorProto.FLOAT,
                                           [nchw_in[0], nchw_in[2], nchw_in[3], nchw_in[1]])
    new_out = helper.make_tensor_value_info("output_nhwc", onnx.TensorProto.FLOAT,
                                            [nchw_out[0], nchw_out[2], nchw_out[3], nchw_out[1]])
    nodes.insert(0, helper.make_node("Transpose", ["input_nhwc"], [old_in], name="input_to_nchw",
                                     perm=[0, 3, 1, 2]))
    nodes.append(helper.make_node("Transpose", [old_out], ["output_nhwc"], name="output_to_nhwc",
                                  perm=[0, 2, 3, 1]))
    del g.node[:]
    g.node.extend(nodes)
    del g.input[:]
    g.input.append(new_in)
    del g.output[:]
    g.output.append(new_out)
    onnx.checker.check_model(m)
    onnx.save(m, dst)


def to_qdq(src, dst, seed=SEED, per_channel=False):
    """int8 QDQ form as ONNX Runtime's quantize_static makes it (u8 activations, s8
    weights, per-tensor or per output channel), calibrated on random data from a fixed
    seed."""
    import numpy as np
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    model = onnx.load(src, load_external_data=False)
    inp = model.graph.input[0]
    shape = [d.dim_value for d in inp.type.tensor_type.shape.dim]
    rng = np.random.default_rng(seed)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.left = [{inp.name: rng.uniform(-1, 1, shape).astype(np.float32)} for _ in range(2)]

        def get_next(self):
            return self.left.pop() if self.left else None

    quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def to_qdq_per_channel(src, dst):
    to_qdq(src, dst, per_channel=True)


def build(name):
    """Returns (model, input shape) for a suite name."""
    import torchvision.models as tvm
    if name == "deeplabv3_mobilenet_v2":
        return DeepLabV3MobileNetV2(), (1, 3, 513, 513)
    if name == "deeplabv3_mobilenet_v2_small":  # same graph at 129x129: quick tests
        return DeepLabV3MobileNetV2(), (1, 3, 129, 129)
    if name == "deeplabv3_mobilenet_v3_large":
        from torchvision.models.segmentation import deeplabv3_mobilenet_v3_large
        return (deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None,
                                             aux_loss=False), (1, 3, 513, 513))
    if name == "lraspp_mobilenet_v3_large":
        from torchvision.models.segmentation import lraspp_mobilenet_v3_large
        return (lraspp_mobilenet_v3_large(weights=None, weights_backbone=None),
                (1, 3, 513, 513))
    if name == "mobilenet_v2":
        return tvm.mobilenet_v2(weights=None), (1, 3, 224, 224)
    if name == "resnet50":
        return tvm.resnet50(weights=None), (1, 3, 224, 224)
    if name == "efficientnet_b0":
        return tvm.efficientnet_b0(weights=None), (1, 3, 224, 224)
    raise SystemExit(f"gen_models.py: unknown model '{name}'")


class OutputOnly(nn.Module):
    """torchvision segmentation models return a dict; export its 'out' tensor."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        y = self.m(x)
        return y["out"] if isinstance(y, dict) else y


DERIVED = {  # name -> (source model, rewrite)
    "deeplabv3_mobilenet_v2_tf": ("deeplabv3_mobilenet_v2", to_tf2onnx_style),
    "deeplabv3_mobilenet_v2_tf_int8": ("deeplabv3_mobilenet_v2_tf", to_qdq),
    "deeplabv3_mobilenet_v2_small_tf": ("deeplabv3_mobilenet_v2_small", to_tf2onnx_style),
    "deeplabv3_mobilenet_v2_small_tf_int8": ("deeplabv3_mobilenet_v2_small_tf", to_qdq),
    "mobilenet_v2_int8": ("mobilenet_v2", to_qdq_per_channel),  # per-channel weight scales
}


def export(name, path):
    if name in DERIVED:
        src_name, rewrite = DERIVED[name]
        src = os.path.join(os.path.dirname(path), src_name + ".onnx")
        ensure(src_name, src)
        rewrite(src, path + ".tmp")
        os.replace(path + ".tmp", path)
        print(f"gen_models: wrote {path}", flush=True)
        return
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    model, shape = build(name)
    model = OutputOnly(model)
    randomize_bn(model, gen)
    model.eval()
    x = torch.rand(shape, generator=gen)
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, x, tmp, opset_version=13, input_names=["input"],
                          output_names=["output"], do_constant_folding=True)
    os.replace(tmp, path)
    print(f"gen_models: wrote {path}", flush=True)


DEFAULT = ["deeplabv3_mobilenet_v2"]


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name in sys.argv[2:] or DEFAULT:
        ensure(name, os.path.join(out, name + ".onnx"))


def ensure(name, path):
    """Exports `name` unless a copy newer than this script exists."""
    if os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(__file__):
        return
    export(name, path)


if __name__ == "__main__":
    main()
