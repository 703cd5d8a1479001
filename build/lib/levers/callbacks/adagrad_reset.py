"""Adagrad's accumulated squared gradients only grow, so its steps shrink until it stalls; the practice guide's
remedy is to reset the accumulator every few epochs."""

from __future__ import annotations

import pytorch_lightning as pl
import torch


class AdagradReset(pl.Callback):
    """`callbacks.adagrad_reset.every_n_epochs`; None: never (the entry is on by default and does nothing)."""

    fused_steps_safe = True  # acts at epoch end only

    def __init__(self, every_n_epochs: int | None = None) -> None:
        self.every_n_epochs = every_n_epochs

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            for optimizer in trainer.optimizers:
                reset_accumulators(optimizer)


@torch.no_grad()
def reset_accumulators(optimizer: torch.optim.Optimizer) -> None:
    """Back to the optimizer's initial accumulator value (0 by default) for every parameter."""
    for group in optimizer.param_groups:
        initial = group.get("initial_accumulator_value", 0.0)
        for parameter in group["params"]:
            state = optimizer.state.get(parameter, {})
            if "sum" in state:
                state["sum"].fill_(initial)
