"""Mini-batches sliced from tensors already in memory.

Written by hand instead of a DataLoader: for the small networks levers trains, a DataLoader's per-sample
``__getitem__`` + collate costs more than the model's own step. Here a batch is one index into a tensor held once.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from levers.seeding import epoch_seed


class EpochPermutation:
    """The row order of an epoch as a function of (seed, epoch) alone.

    Lightning calls `set_epoch` on a dataloader's `sampler` before every epoch, also after resuming from a
    checkpoint, so a resumed run shuffles epoch k exactly as the uninterrupted run did.
    """

    def __init__(self, count: int, seed: int) -> None:
        self.count, self.seed, self.epoch = count, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def next_permutation(self) -> torch.Tensor:
        """This epoch's order; then advance, so that iterating on its own (outside Lightning) reshuffles too."""
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        self.epoch += 1
        return torch.randperm(self.count, generator=generator)


class InMemoryBatches:
    """An iterable of (features, target) batches; Lightning accepts any sized iterable as a dataloader.

    Each epoch's order depends only on (seed, epoch) (see EpochPermutation), so it is the same in every run with
    the same seed, resumed or not. Under data parallelism each rank takes its own equal-sized slice of it.
    With `steps_per_call` > 1 each item is a chunk of that many consecutive mini-batches of the same order, which
    the module splits again (levers.fused_steps): one gather per chunk, one Lightning step per chunk.
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
        steps_per_call: int = 1,
    ) -> None:
        self.features, self.target = features, target
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.steps_per_call = steps_per_call
        self.rank, self.world_size = rank, world_size
        self.sampler = EpochPermutation(len(target), seed)
        self.batch_sampler = None  # Lightning looks for both attributes beside a sampler

    def _rows_per_rank(self) -> int:
        return len(self.target) // self.world_size if self.world_size > 1 else len(self.target)

    def optimizer_steps_per_epoch(self) -> int:
        """Mini-batches per epoch (what an optimizer steps on), whatever the chunking."""
        full, remainder = divmod(self._rows_per_rank(), self.batch_size)
        return full if self.drop_last or remainder == 0 else full + 1

    def __len__(self) -> int:
        return -(-self.optimizer_steps_per_epoch() // self.steps_per_call)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.target)
        order = self.sampler.next_permutation() if self.shuffle else torch.arange(count)
        order = order.to(self.target.device)  # once per epoch: data held on an accelerator is indexed there
        rows = self._rows_per_rank()
        if self.world_size > 1:
            order = order[self.rank : rows * self.world_size : self.world_size]
        if self.drop_last:
            rows -= rows % self.batch_size
        step = self.batch_size * self.steps_per_call
        for start in range(0, rows, step):
            stop = min(start + step, rows)
            if not self.shuffle and self.world_size == 1:
                yield self.features[start:stop], self.target[start:stop]
            else:
                index = order[start:stop]
                yield self.features[index], self.target[index]
