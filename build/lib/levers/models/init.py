"""Weight initialization chosen from the activation (practice guide, section 7)."""

from __future__ import annotations

import math

import torch
from torch import nn

from levers.errors import LeversConfigError

INIT_SCHEMES = ("auto", "he", "lecun", "glorot", "default")
DISTRIBUTIONS = ("uniform", "normal")
# ReLU family -> He (Kaiming); SELU / ELU -> LeCun; saturating (tanh, sigmoid, softmax) -> Glorot (Xavier).
SCHEME_FOR_ACTIVATION = {
    "relu": "he",
    "leaky_relu": "he",
    "gelu": "he",
    "elu": "lecun",
    "selu": "lecun",
    "tanh": "glorot",
    "sigmoid": "glorot",
    "linear": "glorot",
}


def resolve_scheme(init: str, activation: str) -> str:
    if init not in INIT_SCHEMES:
        raise LeversConfigError("model.init", init, f"one of {', '.join(INIT_SCHEMES)}")
    return SCHEME_FOR_ACTIVATION[activation] if init == "auto" else init


def target_std(scheme: str, fan_in: int, fan_out: int) -> float:
    """The weight standard deviation each scheme aims for."""
    if scheme == "he":
        return math.sqrt(2.0 / fan_in)
    if scheme == "lecun":
        return math.sqrt(1.0 / fan_in)
    if scheme == "glorot":
        return math.sqrt(2.0 / (fan_in + fan_out))
    raise LeversConfigError("model.init", scheme, "he, lecun or glorot")


@torch.no_grad()
def initialize(layer: nn.Linear | nn.Conv2d, scheme: str, distribution: str, bias: float) -> None:
    """Draw weights with the scheme's std; uniform on [-a, a] with a = std * sqrt(3) has the same std."""
    if distribution not in DISTRIBUTIONS:
        raise LeversConfigError("model.init_distribution", distribution, "uniform or normal")
    if scheme != "default":
        fan_out, fan_in = layer.weight.shape[0], layer.weight[0].numel()
        std = target_std(scheme, fan_in, fan_out)
        if distribution == "normal":
            layer.weight.normal_(0.0, std)
        else:
            layer.weight.uniform_(-std * math.sqrt(3.0), std * math.sqrt(3.0))
    if layer.bias is not None and (scheme != "default" or bias != 0.0):
        layer.bias.fill_(bias)
