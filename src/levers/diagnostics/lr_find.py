"""LR range test (Leslie Smith; practice guide, section 5): `mode=lr_find`, and `optimizer.lr=auto` before training.

Lightning's `Tuner.lr_find` runs the sweep: it swaps in an exponential lr schedule over `num_steps` batches of the
real training loop (same precision, clipping, devices) and restores the initial weights from a checkpoint after.
What it lacks is added here: the raw per-step loss (Lightning keeps only a heavily smoothed one), a divergence point
detected as it happens (the sweep stops there), the guide's "half of the divergence lr" suggestion next to the
steepest-descent one, lr_find.json and lr_find.png in the run directory.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf
from pytorch_lightning.tuner import Tuner

from levers.checkpoint_io import AtomicCheckpointIO
from levers.config.schema.diagnostics import LRFindConfig
from levers.diagnostics import TrainerFactory
from levers.errors import LeversConfigError
from levers.io import write_json_atomic

log = logging.getLogger(__name__)

WARMUP_STEPS = 5  # the first losses are too few to call a divergence on
SKIP_STEEPEST = 3  # the first points of the curve are dominated by the smoothing's start-up


class _LossRecorder:
    """Stands in for the module's `on_train_batch_end` during the sweep (Lightning replaces every callback then):
    records the raw loss, smooths it and stops the sweep at the first divergence."""

    def __init__(self, trainer: pl.Trainer, smoothing: float, factor: float) -> None:
        self.trainer, self.smoothing, self.factor = trainer, smoothing, factor
        self.raw: list[float] = []
        self.smoothed: list[float] = []
        self.diverged_at: int | None = None
        self._average, self._best = 0.0, math.inf

    def __call__(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if (batch_idx + 1) % self.trainer.accumulate_grad_batches != 0:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        value = float(loss.item()) if isinstance(loss, torch.Tensor) else math.nan
        self._average = self.smoothing * self._average + (1 - self.smoothing) * value
        smoothed = self._average / (1 - self.smoothing ** (len(self.raw) + 1))
        self.raw.append(value)
        self.smoothed.append(smoothed)
        if self.diverged_at is not None:
            return
        if not math.isfinite(smoothed) or (len(self.raw) > WARMUP_STEPS and smoothed > self.factor * self._best):
            self.diverged_at = len(self.raw) - 1
            self.trainer.should_stop = True
        self._best = min(self._best, smoothed)


def range_test(
    settings: LRFindConfig, new_trainer: TrainerFactory, data: pl.LightningDataModule, module: pl.LightningModule
) -> dict[str, Any]:
    """Run the sweep on `module` (its initial weights are restored afterwards); return the findings.

    The sweep sets every lr itself: the module's optimizer only needs a valid one to be built. `new_trainer` makes
    the run's configured Trainer with the sweep's own settings on top."""
    trainer = new_trainer(
        callbacks=[],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],  # the Tuner saves and restores the initial weights through it
        max_epochs=-1,
        min_epochs=None,
    )
    if trainer.fast_dev_run:
        raise LeversConfigError("trainer.fast_dev_run", trainer.fast_dev_run, "false for an LR range test")
    recorder = _LossRecorder(trainer, settings.smoothing, settings.divergence_factor)
    module.on_train_batch_end = recorder  # removed below; Lightning calls the module's hook by attribute
    try:
        finder = Tuner(trainer).lr_find(
            module,
            datamodule=data,
            min_lr=settings.min_lr,
            max_lr=settings.max_lr,
            num_training=settings.num_steps,
            mode="exponential",
            early_stop_threshold=None,  # the recorder stops at the divergence it detects on the raw loss
            update_attr=False,
        )
    finally:
        del module.on_train_batch_end
    count = min(len(finder.results["lr"]), len(recorder.raw))
    lrs = [float(lr) for lr in finder.results["lr"][:count]]
    result = analyse(lrs, recorder.raw[:count], recorder.smoothed[:count], recorder.diverged_at)
    result.update(min_lr=settings.min_lr, max_lr=settings.max_lr, num_steps=settings.num_steps)
    result["suggestion"] = settings.suggestion
    result["suggested_lr"] = pick(result, settings.suggestion)
    return result


def analyse(lrs: list[float], raw: list[float], smoothed: list[float], diverged_at: int | None) -> dict[str, Any]:
    """Divergence lr, half of it (the guide's rule) and the steepest descent of the smoothed loss per log-lr."""
    divergence_lr = lrs[diverged_at] if diverged_at is not None and diverged_at < len(lrs) else None
    end = diverged_at if diverged_at is not None else len(lrs)
    steepest_lr = None
    usable = [(math.log10(lrs[i]), smoothed[i]) for i in range(SKIP_STEEPEST, end) if math.isfinite(smoothed[i])]
    if len(usable) >= 3:
        slopes = [
            (usable[i + 1][1] - usable[i - 1][1]) / (usable[i + 1][0] - usable[i - 1][0])
            for i in range(1, len(usable) - 1)
        ]
        steepest = min(range(len(slopes)), key=slopes.__getitem__) + 1
        steepest_lr = 10 ** usable[steepest][0]
    finite_best = min((v for v in smoothed[:end] if math.isfinite(v)), default=None)
    return {
        "lrs": lrs,
        "losses": raw,
        "smoothed": smoothed,
        "steps_run": len(lrs),
        "diverged": divergence_lr is not None,
        "divergence_lr": divergence_lr,
        "half_divergence_lr": divergence_lr / 2 if divergence_lr is not None else None,
        "steepest_lr": steepest_lr,
        "best_smoothed_loss": finite_best,
    }


def pick(result: dict[str, Any], suggestion: str) -> float:
    """The configured suggestion; the steepest point when the loss never diverged within the range."""
    chosen = result["half_divergence_lr"] if suggestion == "half_divergence" else result["steepest_lr"]
    chosen = chosen or result["steepest_lr"] or result["half_divergence_lr"]
    if chosen is None:
        raise LeversConfigError(
            "diagnostics.lr_find.num_steps", result["steps_run"], "more steps: too few losses to suggest an lr"
        )
    return float(chosen)


def save(result: dict[str, Any], output_dir: Path) -> None:
    write_json_atomic(output_dir / "lr_find.json", result)
    from levers.diagnostics.plots import plot_lr_find, save_figure  # matplotlib only in this mode

    save_figure(plot_lr_find, result, output_dir / "lr_find.png")


def describe(result: dict[str, Any]) -> str:
    if result["diverged"]:
        head = f"loss diverges at lr={result['divergence_lr']:.3g}; half of it: {result['half_divergence_lr']:.3g}"
    else:
        head = f"loss never diverged up to lr={result['lrs'][-1]:.3g} (raise diagnostics.lr_find.max_lr)"
    steepest = result["steepest_lr"]
    return f"{head}; steepest descent: {steepest:.3g}" if steepest else head


def run_lr_find(settings: LRFindConfig, new_trainer: TrainerFactory, built: Any, output_dir: Path) -> float:
    """`mode=lr_find`: the test alone; returns the suggested lr."""
    result = range_test(settings, new_trainer, built.data, built.module)
    save(result, output_dir)
    log.info("LR range test: %s", describe(result))
    log.info("suggested lr (%s): %.3g  ->  optimizer.lr=%.3g", result["suggestion"], *[result["suggested_lr"]] * 2)
    log.info("lr_find.json and lr_find.png in %s", output_dir)
    return result["suggested_lr"]


def choose_lr(
    settings: LRFindConfig,
    new_trainer: TrainerFactory,
    data: pl.LightningDataModule,
    probe: pl.LightningModule,
    output_dir: Path,
) -> dict[str, Any]:
    """`optimizer.lr=auto`: run the test on a probe module and record the number where a rerun finds it."""
    result = range_test(settings, new_trainer, data, probe)
    save(result, output_dir)
    lr = result["suggested_lr"]
    _record_in_saved_config(lr)
    log.info(
        "optimizer.lr=auto: %s -> training with optimizer.lr=%.3g (%s)", describe(result), lr, result["suggestion"]
    )
    return {"lr": lr, "suggestion": result["suggestion"], "divergence_lr": result["divergence_lr"]}


def _record_in_saved_config(lr: float) -> None:
    """Hydra saved `.hydra/config.yaml` before the run started; put the chosen number in place of `auto`."""
    if not HydraConfig.initialized() or not HydraConfig.get().output_subdir:
        return
    hydra = HydraConfig.get()
    path = Path(hydra.runtime.output_dir) / hydra.output_subdir / "config.yaml"
    if path.exists():
        saved = OmegaConf.load(path)
        saved.optimizer.lr = lr
        OmegaConf.save(saved, path)
