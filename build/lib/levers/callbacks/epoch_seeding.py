"""Per-epoch seeding: what makes a resumed run bit-identical to an uninterrupted one."""

from __future__ import annotations

import random

import numpy as np
import pytorch_lightning as pl
import torch

from levers.seeding import epoch_seed


class EpochSeeding(pl.Callback):
    """Reseeds torch, numpy and random at each training epoch's start from (seed, epoch).

    Dropout masks and any other random draws of epoch k then depend only on the seed and k, not on how many
    draws came before, so a run resumed from the checkpoint of epoch k-1 draws exactly what the uninterrupted
    run drew. (The batch order has its own per-epoch permutation, see levers.data.batches.)
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        seed = epoch_seed(self.seed, trainer.current_epoch)
        if pl_module.device.type == "cpu":
            # The generators a CPU run draws from. seed_everything also queues seeds for every lazily initialised
            # accelerator, recording a stack trace for each: about a millisecond, a tenth of a small epoch.
            random.seed(seed)
            np.random.seed(seed)
            torch.default_generator.manual_seed(seed)
        else:
            pl.seed_everything(seed, workers=True, verbose=False)
