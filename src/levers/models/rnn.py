"""A recurrent network reading an image row by row: the classic sequential-digits task."""

from __future__ import annotations

import torch
from torch import nn

from levers.errors import LeversConfigError
from levers.models.cnn import checked_image_shape
from levers.models.init import initialize, resolve_scheme

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


class RNN(nn.Module):
    """Each image row (channels x width values) is one time step; the last step's state feeds a linear head."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        image_shape: list[int] | None = None,
        cell: str = "gru",
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        init: str = "auto",
        init_distribution: str = "uniform",
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise LeversConfigError("model.cell", cell, f"one of {', '.join(CELLS)}")
        self.image_shape = checked_image_shape(image_shape, in_features)
        channels, height, width = self.image_shape
        self.steps, self.step_size = height, channels * width
        self.rnn = CELLS[cell](
            self.step_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), out_features)
        initialize(self.head, resolve_scheme(init, "linear"), init_distribution, 0.0)

    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) arrive flattened: (N, C*H*W) -> rows as steps (N, H, C*W)."""
        images = features.reshape(-1, *self.image_shape)
        sequence = images.permute(0, 2, 1, 3).reshape(len(images), self.steps, self.step_size)
        output, _ = self.rnn(sequence)
        return self.dropout(output[:, -1])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(features))
