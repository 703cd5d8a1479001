"""ResNet (He et al. 2016) with torchvision's module names, so a `state_dict` saved from `torchvision.models` loads.

Written here rather than imported: torchvision's wheels are built against one torch release each, and a torchvision
that does not match the installed torch fails at import (on this project's CPU build it does), while timm needs
torchvision too. The layout below is torchvision's ResNet v1.5 (stride in the 3x3 conv of a bottleneck), parameter
for parameter: `resnet18` has 11,689,512 parameters with a 1000-class `fc`, as torchvision's does
(tests/models/test_resnet.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _shortcut(in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


def _shortcut(in_planes: int, out_planes: int, stride: int) -> nn.Sequential | None:
    """A 1x1 projection where the residual's shape changes (torchvision's `downsample`), else the identity."""
    if stride == 1 and in_planes == out_planes:
        return None
    return nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False), nn.BatchNorm2d(out_planes))


@dataclass(frozen=True)
class Architecture:
    block: type[BasicBlock] | type[Bottleneck]
    layers: tuple[int, int, int, int]


ARCHITECTURES = {
    "resnet18": Architecture(BasicBlock, (2, 2, 2, 2)),
    "resnet34": Architecture(BasicBlock, (3, 4, 6, 3)),
    "resnet50": Architecture(Bottleneck, (3, 4, 6, 3)),
    "resnet101": Architecture(Bottleneck, (3, 4, 23, 3)),
}
STEMS = ("imagenet", "small")


class ResNet(nn.Module):
    """torchvision's ResNet; `stem="small"` swaps the 7x7/2 convolution and max pool for one 3x3/1 convolution
    (the CIFAR variant), which keeps a 28x28 image's detail but no longer loads ImageNet files' `conv1`."""

    def __init__(self, name: str, in_channels: int = 3, num_classes: int = 1000, stem: str = "imagenet") -> None:
        super().__init__()
        architecture = ARCHITECTURES[name]
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(3, stride=2, padding=1)
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        in_planes = 64
        for index, (planes, blocks) in enumerate(zip((64, 128, 256, 512), architecture.layers, strict=True), start=1):
            stride = 1 if index == 1 else 2
            layer = []
            for position in range(blocks):
                layer.append(architecture.block(in_planes, planes, stride if position == 0 else 1))
                in_planes = planes * architecture.block.expansion
            setattr(self, f"layer{index}", nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, num_classes)
        self.num_features = in_planes
        _initialize(self)

    def stages(self) -> list[list[nn.Module]]:
        """The blocks `model.freeze=<n>` counts, input first: the stem, then layer1..layer4."""
        return [[self.conv1, self.bn1], [self.layer1], [self.layer2], [self.layer3], [self.layer4]]

    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(images))


@torch.no_grad()
def _initialize(net: ResNet) -> None:
    """torchvision's initialization: He (fan-out) for convolutions, BatchNorm at scale 1, shift 0."""
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
