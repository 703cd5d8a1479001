"""`model=backbone`: a pretrained network reused, its top replaced by a head sized from the data (practice guide:
with scarce data, reuse a network trained on a large set and train only the top, or fine-tune it gently).

Freezing keeps a block's parameters *and* its BatchNorm statistics as loaded (the block stays in eval mode while
the rest trains), so a frozen block computes exactly what it computed in the network it came from.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from levers.errors import LeversConfigError
from levers.models.cnn import checked_image_shape
from levers.models.init import initialize, resolve_scheme
from levers.models.pretrained import load_into, read_tensors
from levers.models.resnet import ARCHITECTURES, STEMS, ResNet

log = logging.getLogger(__name__)
FREEZE_WORDS = {"none": 0, "all_but_head": None}  # None: every block of the architecture


class Backbone(nn.Module):
    """A ResNet body (torchvision's names, `levers.models.resnet`), dropout, and a new linear head."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        image_shape: list[int] | None = None,
        name: str = "resnet18",
        weights: str | None = None,
        freeze: Any = "none",
        stem: str = "imagenet",
        dropout: float = 0.0,
        input_mean: list[float] | None = None,
        input_std: list[float] | None = None,
    ) -> None:
        super().__init__()
        if name not in ARCHITECTURES:
            raise LeversConfigError("model.name", name, f"one of {', '.join(ARCHITECTURES)}")
        if stem not in STEMS:
            raise LeversConfigError("model.stem", stem, f"one of {', '.join(STEMS)}")
        self.image_shape = checked_image_shape(image_shape, in_features)
        channels = self.image_shape[0]
        self.backbone = ResNet(name, in_channels=channels, stem=stem)
        self.backbone.fc = nn.Identity()  # torchvision's classifier goes; the head below is sized from the data
        if weights:
            load_into(self.backbone, read_tensors(weights), name)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.backbone.num_features, out_features)
        initialize(self.head, resolve_scheme("auto", "linear"), "uniform", 0.0)
        stages = self.backbone.stages()
        self.frozen = _frozen_count(freeze, len(stages))
        if self.frozen and not weights:
            log.warning("model.freeze=%s without model.weights: the frozen blocks keep their random weights", freeze)
        for module in self._frozen_modules():
            module.requires_grad_(False)
        if (input_mean is None) != (input_std is None):
            raise LeversConfigError("model.input_std" if input_std is None else "model.input_mean", None,
                                    "both model.input_mean and model.input_std, or neither")  # fmt: skip
        self.register_buffer("input_mean", _per_channel(input_mean, channels, "model.input_mean"), persistent=False)
        self.register_buffer("input_std", _per_channel(input_std, channels, "model.input_std"), persistent=False)

    def train(self, mode: bool = True) -> Backbone:
        super().train(mode)
        for module in self._frozen_modules():
            module.eval()  # frozen BatchNorm keeps the statistics it was loaded with
        return self

    def _frozen_modules(self) -> list[nn.Module]:
        return [module for stage in self.backbone.stages()[: self.frozen] for module in stage]

    def parameter_groups(self, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """What the optimizer steps: the head at the configured lr, the unfrozen body at lr x backbone_lr_mult
        (a discriminative learning rate); frozen parameters are left out."""
        body = [p for p in self.backbone.parameters() if p.requires_grad]
        groups: list[dict[str, Any]] = [{"params": list(self.head.parameters()), "name": "head"}]
        if body:
            groups.append({"params": body, "name": "backbone", "lr_mult": backbone_lr_mult})
        return groups

    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """The pooled body features the head reads (what an activity penalty acts on)."""
        images = features.reshape(-1, *self.image_shape)
        if self.input_mean.numel():
            images = (images - self.input_mean) / self.input_std
        return self.dropout(self.backbone(images))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(features))


def _frozen_count(freeze: Any, stages: int) -> int:
    allowed = f"none, all_but_head, or a number of blocks 0..{stages} (the stem, then layer1..layer4)"
    if isinstance(freeze, str) and freeze in FREEZE_WORDS:
        count = FREEZE_WORDS[freeze]
        return stages if count is None else count
    if type(freeze) is int and 0 <= freeze <= stages:
        return freeze
    raise LeversConfigError("model.freeze", freeze, allowed)


def _per_channel(values: list[float] | None, channels: int, key: str) -> torch.Tensor:
    """Per-channel normalization the pretrained network expects (e.g. ImageNet's), shaped to broadcast."""
    if values is None:
        return torch.empty(0)
    if len(values) != channels:
        raise LeversConfigError(key, list(values), f"{channels} numbers, one per image channel")
    if key.endswith("std") and min(values) <= 0:
        raise LeversConfigError(key, list(values), "positive numbers")
    return torch.tensor([float(v) for v in values]).reshape(channels, 1, 1)
