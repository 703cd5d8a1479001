"""Stops a diverging run at the first non-finite or exploded training loss, naming the step and the levers that
usually cause it.

Lightning's EarlyStopping(check_finite=True) only looks at the validation metric once an epoch; by then a NaN has
spread through every weight and the last checkpoint is overwritten with it. A loss can also explode without ever
becoming NaN: `optimizer.lr=1e10` trained digits to a finite test loss of 2e34 and "completed". This guard checks
the loss that `training_step` returns, raises before the next optimizer step is logged or checkpointed, and so
leaves the best checkpoint and summary.json (status "diverged") as they were.

Divergence rule: a training loss that is NaN/inf, or above `divergence_factor` (1e4) times the run's first
training loss (the untrained model's, before any update; kept in checkpoints so a resumed run compares with the
same one). The first loss, not the best: a healthy run's best batch loss may reach 0 (digits, wine: exactly 0.0 in
float32), and healthy classifiers later climbed 37x to 2e13x above their best so far. Healthy runs on digits, wine,
breast_cancer, diabetes (standardized and raw targets, mse and huber) and wage at sane learning rates, 6 seeds
each, peaked at 1x-502x their first loss (digits, SGD at 0.05: 502x; diabetes, SGD at 0.01: 378x); past sane
learning rates the peaks were 3e4x (wine, Adam at lr 1) to 4e34x (digits, Adam at 1e10, never NaN). 1e4 leaves 20x
above the worst healthy peak. bench/divergence.py measures it; the table is in the README.
"""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
import torch

from levers.errors import LeversRunFailed

LEVERS = (
    "lower the learning rate (optimizer.lr=<a tenth>, or optimizer.lr=auto for an LR range test)",
    "clip gradients (trainer.gradient_clip_val=1.0)",
    "check the input scaling (scaling=standard) and the loss for log(0) or division by zero",
)


class LossDiverged(LeversRunFailed):
    """The training loss diverged: summary.json says `diverged`, the doctor suggests a lower lr and clipping."""

    status = "diverged"

    def __init__(self, step: int, epoch: int, value: float, what: str) -> None:
        self.step, self.epoch, self.value = step, epoch, value
        hints = "; ".join(LEVERS)
        super().__init__(f"training loss {what} at step {step} (epoch {epoch}); try: {hints}")


class NonFiniteLoss(LossDiverged):
    def __init__(self, step: int, epoch: int, value: float) -> None:
        super().__init__(step, epoch, value, f"became {value}")


class ExplodedLoss(LossDiverged):
    def __init__(self, step: int, epoch: int, value: float, first: float, factor: float) -> None:
        self.first, self.factor = first, factor
        super().__init__(step, epoch, value, f"reached {value:.4g}, over {factor:g}x the first step's {first:.4g}")


class NonFiniteGuard(pl.Callback):
    """Checks every step's training loss without a per-step host sync on accelerators.

    The first bad step (non-finite, or above `divergence_factor` times the first step's loss; null: only
    non-finite) is recorded on the loss's device (no sync) and read back every `every_n_steps` steps, before
    validation and at epoch end; on a single CPU process reading it is free, so it is read every step. Under data
    parallelism the ranks agree (one collective per check) so that all of them stop.
    """

    fused_steps_safe = True  # reads every optimizer step's loss from a chunk's outputs (levers.fused_steps)

    def __init__(self, every_n_steps: int = 50, divergence_factor: float | None = 1e4) -> None:
        self.every_n_steps = every_n_steps
        self.divergence_factor = divergence_factor
        self._first_bad: torch.Tensor | None = None
        self._bad_value: torch.Tensor | None = None
        self._first_loss: torch.Tensor | None = None  # the run's first finite training loss (NaN until seen)
        self._restored_first_loss = math.nan

    def state_dict(self) -> dict[str, Any]:
        """The first loss travels in checkpoints: a resumed run keeps comparing with the untrained model's loss."""
        first = self._restored_first_loss if self._first_loss is None else float(self._first_loss.item())
        return {"first_loss": first}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored_first_loss = float(state_dict.get("first_loss", math.nan))
        self._first_loss = None

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        losses = _step_losses(outputs)
        if losses is None:
            return
        self.record(losses, trainer.global_step - len(losses))
        single_cpu = losses.device.type == "cpu" and trainer.world_size == 1
        if single_cpu or trainer.global_step % self.every_n_steps < len(losses):
            self._raise_if_bad(trainer)

    def record(self, losses: torch.Tensor, first_step: int) -> None:
        """Fold one loss per optimizer step (several with levers.fused_steps), the first at `first_step`, into the
        first bad step so far, on the losses' device: no host sync (indexing with a 0-d tensor would be one, a
        hidden .item(); every index below is 1-d)."""
        losses = losses.float()
        if self._first_bad is None:
            self._first_bad = torch.full((), -1, dtype=torch.long, device=losses.device)
            self._bad_value = torch.zeros((), dtype=losses.dtype, device=losses.device)
        if self._first_loss is None:
            self._first_loss = torch.full((), self._restored_first_loss, dtype=losses.dtype, device=losses.device)
        steps = torch.arange(len(losses), device=losses.device) + first_step
        bad = self._diverged(losses)
        first = torch.where(bad, steps, torch.iinfo(torch.long).max).argmin().reshape(1)
        newly_bad = bad.any() & (self._first_bad < 0)
        self._first_bad = torch.where(newly_bad, steps[first][0], self._first_bad)
        self._bad_value = torch.where(newly_bad, losses[first][0], self._bad_value)

    def _diverged(self, losses: torch.Tensor) -> torch.Tensor:
        """Which of these steps' losses diverged; records the run's first finite loss on the way (on device)."""
        finite = torch.isfinite(losses)
        if self.divergence_factor is None:
            return ~finite
        positions = torch.arange(len(losses), device=losses.device)
        first_finite = losses[torch.where(finite, positions, len(losses)).argmin().reshape(1)][0]
        unset = torch.isnan(self._first_loss) & finite.any()
        self._first_loss = torch.where(unset, first_finite, self._first_loss)
        # NaN (unset) or a first loss of 0 compare False: no explosion is measured against them.
        exploded = finite & (self._first_loss > 0) & (losses > self.divergence_factor * self._first_loss)
        return ~finite | exploded

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._raise_if_bad(trainer)  # before a validation pass and checkpoint on NaN weights

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._raise_if_bad(trainer)

    def _raise_if_bad(self, trainer: pl.Trainer) -> None:
        if self._first_bad is None:
            return
        step = int(self._first_bad.item())
        bad = step >= 0
        if trainer.world_size > 1:  # every rank must stop together, or the others wait forever in the next all-reduce
            bad = trainer.strategy.reduce_boolean_decision(bad, all=False)
        if not bad:
            return
        if step < 0:  # a rank whose own losses were fine reports the current step
            raise NonFiniteLoss(trainer.global_step - 1, trainer.current_epoch, float("nan"))
        value = float(self._bad_value.item())
        if math.isfinite(value):
            first = float(self._first_loss.item())
            raise ExplodedLoss(step, trainer.current_epoch, value, first, float(self.divergence_factor))
        raise NonFiniteLoss(step, trainer.current_epoch, value)


def _step_losses(outputs: Any) -> torch.Tensor | None:
    """The training loss of every optimizer step behind `outputs`, as a 1-d detached tensor (None: nothing to check)."""
    if isinstance(outputs, dict) and isinstance(outputs.get("step_losses"), torch.Tensor):
        return outputs["step_losses"].detach().reshape(-1)
    loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
    return loss.detach().reshape(1) if isinstance(loss, torch.Tensor) else None
