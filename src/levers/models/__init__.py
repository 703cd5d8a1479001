"""Models: sized from the data, built from the `model` config group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.utils import instantiate
from torch import nn


def build_model(config: Mapping[str, Any], in_features: int, out_features: int) -> nn.Module:
    """Complete the partial `model` node with the sizes only the data knows."""
    return instantiate(config)(in_features=in_features, out_features=out_features)
