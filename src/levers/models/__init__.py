"""Models: sized from the data, built from the `model` config group."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from hydra.utils import instantiate
from torch import nn

from levers.errors import LeversConfigError


def build_model(
    config: Mapping[str, Any],
    in_features: int,
    out_features: int,
    layout: Mapping[str, Sequence] | None = None,
    train_features: torch.Tensor | None = None,
) -> nn.Module:
    """Complete the partial `model` node with what only the data knows: sizes, a table's `layout` (category
    code columns and 0/1 columns, TableEncoder.input_layout) and the scaled train features piecewise bins need."""
    factory = instantiate(config)
    accepted = inspect.signature(factory.func).parameters
    extra: dict[str, Any] = {}
    if layout and layout.get("categorical"):
        if "categorical" not in accepted:
            allowed = "model=mlp (the model with embedding tables), or data.categorical_encoding=onehot"
            raise LeversConfigError("data.categorical_encoding", "embedding", allowed)
        extra["categorical"] = [list(pair) for pair in layout["categorical"]]
    if layout and layout.get("binary") and "binary" in accepted:
        extra["binary"] = list(layout["binary"])
    if train_features is not None and config.get("numeric_embedding") == "piecewise":
        extra["train_features"] = train_features
    return factory(in_features=in_features, out_features=out_features, **extra)
