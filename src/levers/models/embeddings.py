"""Input embeddings in front of an MLP: learned tables for category codes, and numeric feature embeddings.

Category codes (`data.categorical_encoding=embedding`) arrive as one float column each holding 0..n-1 (0: a category
unseen in the train split); each gets an ``nn.Embedding`` of min(50, (n+1)//2) dims, the fast.ai rule of thumb.

Numeric embeddings (`model.numeric_embedding`) follow Gorishniy, Rubachev & Babenko (2022), "On embeddings for
numerical features in tabular deep learning": each numeric column x becomes a vector, then a per-feature
Linear + ReLU of `numeric_embedding_size` units (their PLR and PLE-L-ReLU variants):

- periodic: [sin(2 pi c x), cos(2 pi c x)] with PERIODIC_FREQUENCIES trainable frequencies c ~ N(0, sigma);
- piecewise: piecewise-linear encoding over bins whose edges are quantiles of the (scaled) train split.

Written here rather than taken from `rtdl_num_embeddings` (which installs light: torch only) because its
piecewise modules size their parameters from per-feature bin lists given at construction, while levers rebuilds a
checkpoint's model from its recipe before loading the state dict, with no train split at hand: here the bin edges
are one fixed-shape buffer (features x bins+1) that travels in the state dict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from levers.errors import LeversConfigError

NUMERIC_EMBEDDINGS = ("none", "periodic", "piecewise")
PERIODIC_FREQUENCIES = 16  # frequencies per feature (the paper tunes 16-96; 16 keeps small tables small)
QUANTILE_ROWS = 50_000  # train rows (evenly strided) the bin edges are computed from


def embedding_dim(rows: int) -> int:
    """min(50, (n+1)//2) for a table of n rows (categories + the reserved unseen row)."""
    return min(50, (rows + 1) // 2)


class PerFeatureLinear(nn.Module):
    """A separate Linear(in, out) for each of `features` features: (N, F, in) -> (N, F, out)."""

    def __init__(self, features: int, in_size: int, out_size: int) -> None:
        super().__init__()
        bound = 1 / math.sqrt(in_size)  # nn.Linear's default initialization, per feature
        self.weight = nn.Parameter(torch.empty(features, in_size, out_size).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(features, out_size).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nfi,fio->nfo", x, self.weight) + self.bias


class PeriodicEmbedding(nn.Module):
    """x -> ReLU(Linear_f([sin(2 pi c_f x), cos(2 pi c_f x)])), per feature f (the paper's PLR)."""

    def __init__(self, features: int, size: int, sigma: float) -> None:
        super().__init__()
        self.frequencies = nn.Parameter(torch.randn(features, PERIODIC_FREQUENCIES) * sigma)
        self.linear = PerFeatureLinear(features, 2 * PERIODIC_FREQUENCIES, size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angles = 2 * math.pi * self.frequencies * x[..., None]
        return torch.relu(self.linear(torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)))


class PiecewiseLinearEmbedding(nn.Module):
    """x -> ReLU(Linear_f(PLE(x))): bin t reads 1 above its right edge, 0 below its left, linear between; the
    first bin stays linear below the train range and the last above it (the paper's PLE)."""

    def __init__(self, features: int, size: int, bins: int, train_features: torch.Tensor | None) -> None:
        super().__init__()
        # Without the train split (a model rebuilt from its checkpoint) any edges do: the state dict brings them.
        edges = torch.linspace(-1.0, 1.0, bins + 1).expand(features, -1).clone()
        if train_features is not None:
            edges = quantile_edges(train_features, bins)
        self.register_buffer("edges", edges)
        self.bins = bins  # a plain int: the clamps are fixed when the model is traced for export
        self.linear = PerFeatureLinear(features, bins, size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, width = self.edges[:, :-1], self.edges[:, 1:] - self.edges[:, :-1]  # (not .diff: ONNX has none)
        width = torch.where(width > 0, width, torch.ones_like(width))  # a repeated edge (few distinct values)
        ple = (x[..., None] - left) / width
        if self.bins > 1:
            ple = torch.cat([ple[..., :1].clamp_max(1), ple[..., 1:-1].clamp(0, 1), ple[..., -1:].clamp_min(0)], dim=-1)
        return torch.relu(self.linear(ple))


def quantile_edges(train_features: torch.Tensor, bins: int) -> torch.Tensor:
    """Per-feature edges at the 0, 1/bins, ..., 1 quantiles of (at most QUANTILE_ROWS) train rows."""
    stride = max(1, len(train_features) // QUANTILE_ROWS)
    sample = train_features[::stride].double()
    levels = torch.linspace(0, 1, bins + 1, dtype=torch.float64)
    return torch.quantile(sample, levels, dim=0).T.float().contiguous()


class InputEmbedding(nn.Module):
    """Input columns -> the vector the first hidden layer reads: codes through their embedding tables, numeric
    columns through the numeric embedding (or as they are), 0/1 `binary` columns as they are."""

    def __init__(
        self,
        in_features: int,
        categorical: Sequence[Sequence[int]] = (),
        binary: Sequence[int] = (),
        numeric_embedding: str = "none",
        size: int = 16,
        sigma: float = 0.1,
        bins: int = 16,
        train_features: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        if numeric_embedding not in NUMERIC_EMBEDDINGS:
            allowed = f"one of {', '.join(NUMERIC_EMBEDDINGS)}"
            raise LeversConfigError("model.numeric_embedding", numeric_embedding, allowed)
        codes = [int(column) for column, _ in categorical]
        if any(not 0 <= c < in_features for c in codes):
            raise LeversConfigError("categorical columns", codes, f"column indices below {in_features}")
        skipped = set(binary) if numeric_embedding != "none" else set()
        numeric = [c for c in range(in_features) if c not in set(codes) | skipped]
        self.codes = codes  # plain ints: a fixed layout, traced as constants by torch.jit.trace / ONNX
        self.register_buffer("numeric", torch.tensor(numeric, dtype=torch.long), persistent=False)
        self.register_buffer("passed", torch.tensor(sorted(skipped - set(codes)), dtype=torch.long), persistent=False)
        self.tables = nn.ModuleList(nn.Embedding(int(rows), embedding_dim(int(rows))) for _, rows in categorical)
        self.embed: nn.Module | None = None
        if numeric_embedding != "none" and numeric:
            numeric_train = train_features[:, numeric] if train_features is not None else None
            self.embed = (
                PeriodicEmbedding(len(numeric), size, sigma)
                if numeric_embedding == "periodic"
                else PiecewiseLinearEmbedding(len(numeric), size, bins, numeric_train)
            )
        numeric_width = len(numeric) * (size if self.embed is not None else 1)
        self.out_features = numeric_width + len(self.passed) + sum(t.embedding_dim for t in self.tables)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        numeric = x[:, self.numeric]
        parts = [self.embed(numeric).flatten(1) if self.embed is not None else numeric, x[:, self.passed]]
        parts += [table(x[:, column].long()) for table, column in zip(self.tables, self.codes, strict=True)]
        return torch.cat(parts, dim=1)
