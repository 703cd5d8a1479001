"""A small convolutional network for image data (digits 8x8, Fashion-MNIST 28x28).

A CNN's parameter count depends only on kernel size and channel counts, not on the image size (practice guide,
section 1); the classifier after global average pooling keeps it that way.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from levers.errors import LeversConfigError
from levers.models.activations import make_activation
from levers.models.compound_scaling import ALPHA, BETA, GAMMA, compound_scale
from levers.models.init import initialize, resolve_scheme

log = logging.getLogger(__name__)
POOLS = ("max", "avg", "none")
HEADS = ("avg", "flatten")


class CNN(nn.Module):
    """[Conv -> BatchNorm? -> activation -> pool?] per `channels` entry, global average pool, dropout, head."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        image_shape: list[int] | None = None,
        channels: list[int] | tuple[int, ...] = (32, 64),
        kernel_size: int = 3,
        pool: str = "max",
        activation: str = "relu",
        dropout: float = 0.0,
        batchnorm: bool = True,
        init: str = "auto",
        init_distribution: str = "uniform",
        bias_init: float = 0.0,
        head: str = "avg",
        scale: float = 0.0,
        scale_depth: float = ALPHA,
        scale_width: float = BETA,
        scale_resolution: float = GAMMA,
    ) -> None:
        super().__init__()
        self.image_shape = checked_image_shape(image_shape, in_features)
        scaled = compound_scale(channels, self.image_shape[1:], scale, scale_depth, scale_width, scale_resolution)
        channels, self.resolution = scaled.channels, scaled.resolution
        if pool not in POOLS:
            raise LeversConfigError("model.pool", pool, f"one of {', '.join(POOLS)}")
        if head not in HEADS:
            raise LeversConfigError("model.head", head, f"one of {', '.join(HEADS)}")
        scheme = resolve_scheme(init, activation)
        layers: list[nn.Module] = []
        in_channels, (height, width) = self.image_shape[0], self.resolution
        for out_channels in channels:
            conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=not batchnorm)
            initialize(conv, scheme, init_distribution, bias_init)
            layers.append(conv)
            if batchnorm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(make_activation(activation))
            if pool != "none" and min(height, width) >= 4:  # never pool a map below 2x2
                layers.append(nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2))
                height, width = height // 2, width // 2
            in_channels = out_channels
        # avg: global average pooling, size-independent; flatten: keeps where features are (more parameters).
        reduce = nn.AdaptiveAvgPool2d(1) if head == "avg" else nn.Identity()
        code_size = in_channels if head == "avg" else in_channels * height * width
        self.hidden = nn.Sequential(*layers, reduce, nn.Flatten(), nn.Dropout(dropout))
        self.head = nn.Linear(code_size, out_features)
        initialize(self.head, resolve_scheme(init, "linear"), init_distribution, 0.0)
        if scale:
            size = sum(p.numel() for p in self.parameters())
            log.info("compound scaling phi=%g: %d blocks %s, input %dx%d, %d parameters", scale, len(channels),
                     list(channels), *self.resolution, size)  # fmt: skip

    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """The hidden code the head reads (what an activity penalty acts on)."""
        images = features.reshape(-1, *self.image_shape)
        if tuple(images.shape[-2:]) != self.resolution:  # compound scaling's resolution: the network sees more pixels
            images = F.interpolate(images, size=self.resolution, mode="bilinear", align_corners=False)
        return self.hidden(images)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(features))


def checked_image_shape(image_shape: list[int] | None, in_features: int) -> tuple[int, int, int]:
    """Images arrive flattened; the data set says how to fold them back (data.image_shape)."""
    if image_shape is None:
        raise LeversConfigError(
            "data.image_shape", None, "[channels, height, width] for image models (cnn, rnn, backbone)"
        )
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or shape[0] * shape[1] * shape[2] != in_features:
        raise LeversConfigError("data.image_shape", list(shape), f"3 sizes whose product is {in_features} features")
    return shape  # type: ignore[return-value]
