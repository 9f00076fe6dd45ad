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


def build(name):
    """Returns (model, input shape) for a suite name."""
    import torchvision.models as tvm
    if name == "deeplabv3_mobilenet_v2":
        return DeepLabV3MobileNetV2(), (1, 3, 513, 513)
    if name == "deeplabv3_mobilenet_v2_small":  # same graph at 129x129: quick tests
        return DeepLabV3MobileNetV2(), (1, 3, 129, 129)
    if name == "mobilenet_v2":
        return tvm.mobilenet_v2(weights=None), (1, 3, 224, 224)
    if name == "resnet50":
        return tvm.resnet50(weights=None), (1, 3, 224, 224)
    if name == "efficientnet_b0":
        return tvm.efficientnet_b0(weights=None), (1, 3, 224, 224)
    raise SystemExit(f"gen_models.py: unknown model '{name}'")


def export(name, path):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    model, shape = build(name)
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
    me = os.path.getmtime(__file__)
    for name in sys.argv[2:] or DEFAULT:
        path = os.path.join(out, name + ".onnx")
        if os.path.exists(path) and os.path.getmtime(path) >= me:
            continue
        export(name, path)


if __name__ == "__main__":
    main()
