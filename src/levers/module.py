"""The LightningModule: network + loss + metrics + optimization, nothing about data or files."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from torchmetrics import MeanMetric

from levers.data.scaling import AffineScaler
from levers.data.task import TaskSpec
from levers.fused_steps import FusedSteps
from levers.lightning_compat import continue_step_count
from levers.losses import LossChoice
from levers.metrics import build_metrics, near_zero_fraction
from levers.optim import OptimizerFactory, Schedule, configure_optimization


class LitModel(pl.LightningModule):
    """Trains `net` on batches that are already scaled; the scalers ride along for prediction and metrics.

    Regression targets are trained in scaled units (well-conditioned loss) while metrics are reported in the
    data's original units; a reconstruction's metrics stay in scaled units (levers.metrics), beside the sparsity of
    its code.
    """

    def __init__(
        self,
        net: nn.Module,
        loss: LossChoice,
        task: TaskSpec,
        optimizer: OptimizerFactory,
        scheduler: Schedule,
        feature_scaler: AffineScaler,
        target_scaler: AffineScaler,
        l1: float = 0.0,
        l1_activity: float = 0.0,
        target_names: tuple[str, ...] = (),
        backbone_lr_mult: float = 1.0,
    ) -> None:
        super().__init__()
        self.net, self.loss_fn, self.loss_name, self.task = net, loss.module, loss.name, task
        self.single_logit = loss.single_logit
        self.feature_scaler, self.target_scaler = feature_scaler, target_scaler
        self.optimizer_factory, self.schedule = optimizer, scheduler
        self.l1, self.l1_activity = l1, l1_activity
        self.backbone_lr_mult = backbone_lr_mult
        metrics = build_metrics(task, target_names=target_names)
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        # The fraction of code units that are off, per split (levers.metrics.near_zero_fraction): the autoencoder's.
        self.code_sparsity = (
            nn.ModuleDict({"val": MeanMetric(), "test": MeanMetric()}) if task.is_reconstruction else None
        )
        self.fused_steps: FusedSteps | None = None  # None: Lightning's own loop, one optimizer step per batch
        self._checkpoint_global_step: int | None = None  # of a checkpoint training continues from

    def use_fused_steps(self, fused: FusedSteps) -> None:
        """Train with several optimizer steps per training_step (levers.fused_steps), under manual optimization.

        Called once, before fit: the plan depends on the Trainer (strategy, precision, callbacks), which is built
        after this module, and it is decided there, in full, before this module ever trains.
        """
        if self.fused_steps is not None:
            raise RuntimeError("fused steps are decided once, before fit")
        self.fused_steps = fused
        self.automatic_optimization = False

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)

    def _loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.single_logit:
            return self.loss_fn(output.squeeze(-1), target.float())
        return self.loss_fn(output, target)

    def _weight_penalty(self) -> torch.Tensor | float:
        """L1 on weight matrices and kernels (biases and norm scales are left free)."""
        if self.l1 <= 0:
            return 0.0
        weights = [p for name, p in self.net.named_parameters() if name.endswith("weight") and p.ndim > 1]
        return self.l1 * sum(w.abs().sum() for w in weights)

    def losses(self, features: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the task loss, which is logged; the loss with the penalties, which is minimised)."""
        if self.l1_activity > 0:
            # L1 on the hidden code: mean over the batch of each sample's summed |activation| -> sparse codes.
            code = self.net.encode(features)
            output, activity = self.net.head(code), self.l1_activity * code.abs().sum(1).mean()
        else:
            output, activity = self(features), 0.0
        loss = self._loss(output, target)
        return loss, loss + self._weight_penalty() + activity

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor | dict:
        if self.fused_steps is not None:
            return self.fused_steps.training_step(self, batch, batch_idx)
        loss, total = self.losses(*batch)
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(batch[1]))
        return total

    def on_train_epoch_end(self) -> None:
        if self.fused_steps is not None:
            self.fused_steps.on_train_epoch_end(self)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._checkpoint_global_step = checkpoint.get("global_step")

    def on_train_start(self) -> None:
        continue_step_count(self.trainer, self._checkpoint_global_step)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val", self.val_metrics)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test", self.test_metrics)

    def _evaluate(self, batch: tuple[torch.Tensor, torch.Tensor], split: str, metrics) -> None:
        features, target = batch
        if self.code_sparsity is None:
            output = self(features)
        else:
            code = self.net.encode(features)
            output = self.net.head(code)
            self.code_sparsity[split].update(near_zero_fraction(code))
            self.log(f"{split}/code_sparsity", self.code_sparsity[split], batch_size=len(target))
        self.log(f"{split}/loss", self._loss(output, target), batch_size=len(target))
        metrics.update(*self._metric_inputs(output, target))
        self.log_dict(metrics, batch_size=len(target))

    def _metric_inputs(self, output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class probabilities (rows, classes) for classification (levers.metrics), original units for regression,
        scaled units for reconstruction."""
        if self.single_logit:
            positive = output.squeeze(-1).sigmoid()
            return torch.stack([1 - positive, positive], dim=-1), target
        if self.task.is_classification:
            return output.softmax(dim=-1), target
        if self.task.is_reconstruction:
            return output, target
        return self.target_scaler.inverse(output).squeeze(-1), self.target_scaler.inverse(target).squeeze(-1)

    def trained_parameters(self) -> Any:
        """What the optimizer steps: a network with parameter groups (model=backbone) says which, at what lr."""
        groups = getattr(self.net, "parameter_groups", None)
        return self.parameters() if groups is None else groups(self.backbone_lr_mult)

    def configure_optimizers(self) -> dict[str, Any]:
        if self.schedule.interval != "step":
            total = self.trainer.max_epochs
        elif self.fused_steps is None:
            total = self.trainer.estimated_stepping_batches
        else:  # Lightning's estimate counts calls; a schedule spans optimizer steps
            total = self.fused_steps.optimizer_steps(self.trainer)
        optimization = configure_optimization(self.optimizer_factory, self.schedule, self.trained_parameters(), total)
        return optimization if self.fused_steps is None else self.fused_steps.manual(optimization)
