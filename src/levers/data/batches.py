"""Mini-batches sliced from tensors already in memory.

Written by hand instead of a DataLoader: for the small networks levers trains, a DataLoader's per-sample
``__getitem__`` + collate costs more than the model's own step. Here a batch is one index into a tensor held once.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


class InMemoryBatches:
    """An iterable of (features, target) batches; Lightning accepts any sized iterable as a dataloader.

    Each pass draws a new permutation from a generator seeded once, so the batch order is the same in every run
    with the same seed. Under data parallelism each rank takes its own equal-sized slice of the permutation.
    """

    def __init__(
        self,
        features: torch.Tensor,
        target: torch.Tensor,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.features, self.target = features, target
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.rank, self.world_size = rank, world_size
        self.generator = torch.Generator().manual_seed(seed)

    def _rows_per_rank(self) -> int:
        return len(self.target) // self.world_size if self.world_size > 1 else len(self.target)

    def __len__(self) -> int:
        rows = self._rows_per_rank()
        full, remainder = divmod(rows, self.batch_size)
        return full if self.drop_last or remainder == 0 else full + 1

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.target)
        order = torch.randperm(count, generator=self.generator) if self.shuffle else torch.arange(count)
        rows = self._rows_per_rank()
        if self.world_size > 1:
            order = order[self.rank : rows * self.world_size : self.world_size]
        for start in range(0, rows, self.batch_size):
            index = order[start : start + self.batch_size]
            if self.drop_last and len(index) < self.batch_size:
                return
            if not self.shuffle and self.world_size == 1:
                yield self.features[start : start + self.batch_size], self.target[start : start + self.batch_size]
            else:
                yield self.features[index], self.target[index]
