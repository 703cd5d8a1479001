"""Autoencoder: an MLP encoder down to a small code, a mirrored MLP decoder back to every feature.

Trained on `data.task=reconstruction` (its target is its own scaled input). `encode` gives the code and `head` is
the decoder, so LitModel's `regularization.l1_activity` penalises the code itself: with the default ReLU code layer
the L1 pull yields exact zeros, i.e. a sparse code (practice guide, section 8).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from levers.errors import LeversConfigError
from levers.models.activations import ACTIVATIONS, make_activation
from levers.models.init import initialize, resolve_scheme
from levers.models.mlp import hidden_widths

LINEAR = "linear"  # no activation on the code: a dense code, which an L1 penalty only shrinks
CODE_ACTIVATIONS = (*ACTIVATIONS, LINEAR)


def encoder_layer_widths(encoder_widths: Sequence[int] | None, depth: int, width: int, shape: str) -> list[int]:
    """The encoder's hidden widths: `encoder_widths` when given, else the MLP's depth/width/shape rule."""
    if encoder_widths is None:
        return hidden_widths(depth, width, shape)
    widths = [int(units) for units in encoder_widths]
    if any(units < 1 for units in widths):
        raise LeversConfigError("model.encoder_widths", list(encoder_widths), "null or a list of widths >= 1")
    return widths


class Autoencoder(nn.Module):
    """features -> [Linear -> [BatchNorm] -> activation -> [Dropout]] per encoder width -> Linear -> code activation
    (the code, `code_size` units) -> the same blocks in reverse -> Linear -> one value per feature.

    Dropout is on the hidden layers only, never on the code (it would fight the sparsity an L1 penalty seeks).
    ``in_features`` and ``out_features`` come from the data (:func:`levers.models.build_model`) and must be equal.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        code_size: int = 8,
        encoder_widths: Sequence[int] | None = None,
        depth: int = 1,
        width: int = 64,
        shape: str = "constant",
        activation: str = "relu",
        code_activation: str = "relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
        init: str = "auto",
        init_distribution: str = "uniform",
        bias_init: float = 0.0,
    ) -> None:
        super().__init__()
        if out_features != in_features:
            allowed = f"data.task=reconstruction (an autoencoder outputs its {in_features} inputs, not {out_features})"
            raise LeversConfigError("model", "autoencoder", allowed)
        if code_activation not in CODE_ACTIVATIONS:
            raise LeversConfigError("model.code_activation", code_activation, f"one of {', '.join(CODE_ACTIVATIONS)}")
        widths = encoder_layer_widths(encoder_widths, depth, width, shape)
        block = _Blocks(activation, dropout, batchnorm, init, init_distribution, bias_init)
        code = nn.Linear(widths[-1] if widths else in_features, code_size)
        initialize(code, resolve_scheme(init, code_activation), init_distribution, bias_init)
        code_layers = [code] if code_activation == LINEAR else [code, make_activation(code_activation)]
        self.encoder = nn.Sequential(*block.stack([in_features, *widths]), *code_layers)
        output = nn.Linear(widths[0] if widths else code_size, out_features)
        initialize(output, resolve_scheme(init, LINEAR), init_distribution, 0.0)  # a linear output: Glorot
        self.head = nn.Sequential(*block.stack([code_size, *reversed(widths)]), output)  # the decoder
        self.code_size = code_size

    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """The code (rows, code_size): what the decoder reads and what an activity penalty acts on."""
        return self.encoder(features.flatten(1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(features))


class _Blocks:
    """Hidden blocks with one activation, dropout, norm and init, for the encoder and its mirror."""

    def __init__(
        self, activation: str, dropout: float, batchnorm: bool, init: str, distribution: str, bias: float
    ) -> None:
        self.activation, self.dropout, self.batchnorm = activation, dropout, batchnorm
        self.scheme, self.distribution, self.bias = resolve_scheme(init, activation), distribution, bias

    def stack(self, sizes: Sequence[int]) -> list[nn.Module]:
        """One block per consecutive pair of `sizes` (fan-in, units)."""
        layers: list[nn.Module] = []
        for fan_in, units in itertools.pairwise(sizes):
            linear = nn.Linear(fan_in, units, bias=not self.batchnorm)
            initialize(linear, self.scheme, self.distribution, self.bias)
            layers.append(linear)
            if self.batchnorm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(make_activation(self.activation))
            if self.dropout > 0:
                layers.append(nn.Dropout(self.dropout))
        return layers
