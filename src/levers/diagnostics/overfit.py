"""Overfit check (practice guide, sections 1 and 9): a model that cannot overfit a few fixed batches has a bug.

`mode=overfit` trains on the first `diagnostics.overfit.batches` batches of the training split, always the same
ones, with every regularizer off and no lr schedule, and measures loss and accuracy on exactly those rows before and
after. PASS when the loss fell by `loss_factor` (and, for classification, accuracy reached `min_acc`); FAIL raises
with the reason, so the command exits non-zero.

A linear model (one Linear layer, `model.depth=0`) is judged by a rule that fits a convex model: it converges to the
optimum of these rows, which is not zero loss, so it passes when its loss fell every tenth of the epochs (a convex
loss under a fitting lr never rises) and by `linear_loss_factor`, with the same accuracy rule for classification.
Lightning's `overfit_batches` flag is not used: it only fixes the
batches of a DataLoader's sampler, while levers' batches come from memory with their own seeded shuffle.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from levers.config.schema.diagnostics import OverfitConfig
from levers.data.batches import InMemoryBatches
from levers.diagnostics import TrainerFactory
from levers.errors import LeversRunFailed
from levers.io import write_json_atomic

log = logging.getLogger(__name__)


class OverfitFailed(LeversRunFailed):
    status = "overfit_failed"


class EpochLosses(pl.Callback):
    """The training loss of every epoch on the fixed batches: the curve that says whether a convex model converged."""

    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        loss = trainer.callback_metrics.get("train/loss")
        if loss is not None:
            self.losses.append(float(loss))


def fixed_batches(built: Any, batches: int) -> InMemoryBatches:
    features, target = built.data.tensors["train"]
    rows = min(len(target), batches * built.data.config.batch_size)
    return InMemoryBatches(features[:rows], target[:rows], batch_size=built.data.config.batch_size, shuffle=False)


def run_overfit(settings: OverfitConfig, new_trainer: TrainerFactory, built: Any, output_dir: Path) -> float:
    """`mode=overfit` on a module built with regularization off (levers.build.regularization_off); returns the
    final loss on the fixed batches (raises OverfitFailed on FAIL)."""
    batches = fixed_batches(built, settings.batches)
    curve = EpochLosses()
    trainer = new_trainer(
        callbacks=[curve],
        max_epochs=settings.max_epochs,
        min_epochs=None,
    )
    before = _measure(trainer, built.module, batches)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*no `val_dataloader`.*")
        trainer.fit(built.module, train_dataloaders=batches)  # no validation loader: nothing but these rows
    after = _measure(trainer, built.module, batches)
    linear = is_linear(built.module.net)
    verdict = judge(before, after, settings, built.data.task.is_classification, curve.losses if linear else None)
    verdict.update(rows=len(batches.target), epochs=settings.max_epochs, linear=linear)
    write_json_atomic(output_dir / "overfit.json", verdict)
    message = (
        f"overfit check {'PASS' if verdict['passed'] else 'FAIL'}: loss {before['loss']:.4g} -> {after['loss']:.4g}"
        f" on {settings.batches} fixed batches; {verdict['reason']}"
    )
    if not verdict["passed"]:
        raise OverfitFailed(message)
    log.info(message)
    return after["loss"]


def _measure(trainer: pl.Trainer, module: pl.LightningModule, batches: InMemoryBatches) -> dict[str, float]:
    """Loss (and accuracy) of the module on the fixed rows, through its own validation step."""
    results = trainer.validate(module, dataloaders=batches, verbose=False)[0]
    measured = {"loss": float(results["val/loss"])}
    if "val/acc" in results:
        measured["acc"] = float(results["val/acc"])
    return measured


def is_linear(net: torch.nn.Module) -> bool:
    """One Linear layer and no other parameters: a convex model (with levers' convex losses)."""
    layers = [m for m in net.modules() if any(True for _ in m.parameters(recurse=False))]
    return len(layers) == 1 and isinstance(layers[0], torch.nn.Linear)


def monotone(losses: list[float], windows: int = 10) -> bool:
    """The loss at the end of every tenth of the epochs is below the one before (noise within a tenth is allowed)."""
    if len(losses) < windows:
        return all(b <= a for a, b in itertools.pairwise(losses))
    marks = [losses[min(len(losses) - 1, (i * len(losses)) // windows)] for i in range(windows)] + [losses[-1]]
    return all(b <= a for a, b in itertools.pairwise(marks))


def judge(
    before: dict[str, float],
    after: dict[str, float],
    settings: Any,
    classification: bool,
    linear_curve: list[float] | None = None,
) -> dict[str, Any]:
    """PASS/FAIL with the reason; `linear_curve` (the per-epoch loss of a linear model) selects the convex rule."""
    linear = linear_curve is not None
    factor = settings.linear_loss_factor if linear else settings.loss_factor
    reasons = []
    if not after["loss"] <= before["loss"] / factor:
        reasons.append(
            f"loss fell {before['loss'] / max(after['loss'], 1e-12):.3g}x, needs {factor:g}x"
            f"{' (linear model)' if linear else ''}"
            " (check the lr: mode=lr_find; the data pipeline; the loss/output pairing)"
        )
    if linear and linear_curve and not monotone(linear_curve):
        reasons.append("the loss of a linear (convex) model rose during training: the lr is too high")
    if classification and after.get("acc", 0.0) < settings.min_acc:
        still = linear_curve is not None and len(linear_curve) > 1 and linear_curve[-1] < linear_curve[-2]
        hint = " (still falling: raise diagnostics.overfit.max_epochs)" if still else ""
        reasons.append(f"accuracy {after.get('acc', 0.0):.3f} < {settings.min_acc}{hint}")
    passed = "the model can fit these rows: add data and regularization back"
    if linear:
        fell = before["loss"] / max(after["loss"], 1e-12)
        passed = (
            f"a linear (convex) model: its loss fell {fell:.3g}x and never rose (needs {factor:g}x; a convex model"
            f" converges to its optimum, not to zero loss)"
        )
    return {
        "passed": not reasons,
        "reason": "; ".join(reasons) or passed,
        "before": before,
        "after": after,
        "loss_factor": factor,
        "rule": "linear" if linear else "deep",
        "min_acc": settings.min_acc if classification else None,
    }
