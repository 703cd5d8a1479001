"""The whole inference path as one nn.Module: scale features -> network -> probabilities or target units.

The same module serves `levers predict` and is what `levers export` traces, so an exported file and the
checkpoint give the same numbers by construction.
"""

from __future__ import annotations

import torch
from torch import nn

from levers.data.scaling import AffineScaler
from levers.module import LitModel


class Predictor(nn.Module):
    """Encoded features in; class probabilities (classification) or targets in their own units (regression, and
    reconstruction: the features, its target scaler being the feature scaler) out."""

    def __init__(self, module: LitModel) -> None:
        super().__init__()
        self.feature_scaler: AffineScaler = module.feature_scaler
        self.target_scaler: AffineScaler = module.target_scaler
        self.net = module.net
        self.head = _head(module)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        output = self.net(self.feature_scaler(features))
        if self.head == "sigmoid":
            positive = torch.sigmoid(output)
            return torch.cat([1 - positive, positive], dim=-1)
        if self.head == "softmax":
            return torch.softmax(output, dim=-1)
        return self.target_scaler.inverse(output)


class CodeEncoder(nn.Module):
    """Encoded features in; an autoencoder's code out (scale features -> encoder), for `levers predict emit=codes`."""

    def __init__(self, module: LitModel) -> None:
        super().__init__()
        self.feature_scaler: AffineScaler = module.feature_scaler
        self.net = module.net

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net.encode(self.feature_scaler(features))


def _head(module: LitModel) -> str:
    if not module.task.is_classification:
        return "identity"
    return "sigmoid" if module.single_logit else "softmax"


def build_predictor(module: LitModel) -> Predictor:
    return Predictor(module).eval()


def build_encoder(module: LitModel) -> CodeEncoder:
    return CodeEncoder(module).eval()
