"""Activation names a config may use, mapped to torch modules."""

from __future__ import annotations

from torch import nn

from levers.errors import LeversConfigError

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def make_activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise LeversConfigError("model.activation", name, f"one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()
