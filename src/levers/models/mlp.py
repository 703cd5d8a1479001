"""Multi-layer perceptron: the default model for tabular data and flattened small images."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from levers.errors import LeversConfigError
from levers.models.activations import make_activation
from levers.models.embeddings import InputEmbedding
from levers.models.init import initialize, resolve_scheme

SHAPES = ("constant", "funnel")


def hidden_widths(depth: int, width: int, shape: str) -> list[int]:
    """constant: every layer `width`; funnel: `width` first, halving after (never below 1)."""
    if shape not in SHAPES:
        raise LeversConfigError("model.shape", shape, f"one of {', '.join(SHAPES)}")
    if shape == "constant":
        return [width] * depth
    return [max(1, width // 2**i) for i in range(depth)]


class MLP(nn.Module):
    """Linear -> [BatchNorm] -> activation -> [Dropout], repeated; a linear head producing logits/values.

    ``in_features`` and ``out_features`` are filled in from the data by :func:`levers.models.build_model`, and
    so are a table's `categorical` [column, rows] code columns and `binary` 0/1 columns: with codes or a
    `numeric_embedding`, an :class:`~levers.models.embeddings.InputEmbedding` comes before the first layer.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        depth: int = 2,
        width: int = 256,
        shape: str = "constant",
        activation: str = "relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
        init: str = "auto",
        init_distribution: str = "uniform",
        bias_init: float = 0.0,
        numeric_embedding: str = "none",
        numeric_embedding_size: int = 16,
        periodic_sigma: float = 0.1,
        piecewise_bins: int = 16,
        categorical: Sequence[Sequence[int]] = (),
        binary: Sequence[int] = (),
        train_features: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        scheme = resolve_scheme(init, activation)
        self.inputs: InputEmbedding | None = None
        if categorical or numeric_embedding != "none":
            self.inputs = InputEmbedding(
                in_features,
                categorical,
                binary,
                numeric_embedding,
                numeric_embedding_size,
                periodic_sigma,
                piecewise_bins,
                train_features,
            )
        fan_in = in_features if self.inputs is None else self.inputs.out_features
        for units in hidden_widths(depth, width, shape):
            linear = nn.Linear(fan_in, units, bias=not batchnorm)
            initialize(linear, scheme, init_distribution, bias_init)
            layers.append(linear)
            if batchnorm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(make_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            fan_in = units
        self.hidden = nn.Sequential(*layers)
        self.head = nn.Linear(fan_in, out_features)
        # The head feeds softmax/sigmoid or a linear output: Glorot, per the guide.
        initialize(self.head, resolve_scheme(init, "linear"), init_distribution, 0.0)

    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """The hidden code the head reads (what an activity penalty acts on)."""
        features = features.flatten(1)
        return self.hidden(features if self.inputs is None else self.inputs(features))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(features))
