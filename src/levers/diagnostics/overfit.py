"""Overfit check (practice guide, sections 1 and 9): a model that cannot overfit a few fixed batches has a bug.

`mode=overfit` trains on the first `diagnostics.overfit.batches` batches of the training split, always the same
ones, with every regularizer off and no lr schedule, and measures loss and accuracy on exactly those rows before and
after. PASS when the loss fell by `loss_factor` (and, for classification, accuracy reached `min_acc`); FAIL raises
with the reason, so the command exits non-zero. Lightning's `overfit_batches` flag is not used: it only fixes the
batches of a DataLoader's sampler, while levers' batches come from memory with their own seeded shuffle.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from levers.checkpoint_io import AtomicCheckpointIO
from levers.config.schema.diagnostics import OverfitConfig
from levers.data.batches import InMemoryBatches
from levers.diagnostics import TrainerFactory
from levers.errors import LeversRunFailed
from levers.io import write_json_atomic

log = logging.getLogger(__name__)


class OverfitFailed(LeversRunFailed):
    status = "overfit_failed"


def fixed_batches(built: Any, batches: int) -> InMemoryBatches:
    features, target = built.data.tensors["train"]
    rows = min(len(target), batches * built.data.config.batch_size)
    return InMemoryBatches(features[:rows], target[:rows], batch_size=built.data.config.batch_size, shuffle=False)


def run_overfit(settings: OverfitConfig, new_trainer: TrainerFactory, built: Any, output_dir: Path) -> float:
    """`mode=overfit` on a module built with regularization off (levers.build.regularization_off); returns the
    final loss on the fixed batches (raises OverfitFailed on FAIL)."""
    batches = fixed_batches(built, settings.batches)
    trainer = new_trainer(
        callbacks=[],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
        max_epochs=settings.max_epochs,
        min_epochs=None,
    )
    before = _measure(trainer, built.module, batches)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*no `val_dataloader`.*")
        trainer.fit(built.module, train_dataloaders=batches)  # no validation loader: nothing but these rows
    after = _measure(trainer, built.module, batches)
    verdict = judge(before, after, settings, built.data.task.is_classification)
    verdict.update(rows=len(batches.target), epochs=settings.max_epochs)
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


def judge(before: dict[str, float], after: dict[str, float], settings: Any, classification: bool) -> dict[str, Any]:
    target_loss = before["loss"] / settings.loss_factor
    reasons = []
    if not after["loss"] <= target_loss:
        reasons.append(
            f"loss fell {before['loss'] / max(after['loss'], 1e-12):.3g}x, needs {settings.loss_factor:g}x"
            " (check the lr: mode=lr_find; the data pipeline; the loss/output pairing)"
        )
    if classification and after.get("acc", 0.0) < settings.min_acc:
        reasons.append(f"accuracy {after.get('acc', 0.0):.3f} < {settings.min_acc}")
    return {
        "passed": not reasons,
        "reason": "; ".join(reasons) or "the model can fit these rows: add data and regularization back",
        "before": before,
        "after": after,
        "loss_factor": settings.loss_factor,
        "min_acc": settings.min_acc if classification else None,
    }
