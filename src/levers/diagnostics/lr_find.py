"""LR range test (Leslie Smith; practice guide, section 5): `mode=lr_find`, and `optimizer.lr=auto` before training.

Lightning's `Tuner.lr_find` runs the sweep: it swaps in an exponential lr schedule over `num_steps` batches of the
real training loop (same precision, clipping, devices) and restores the initial weights from a checkpoint after.
What it lacks is added here: the raw per-step loss (Lightning keeps only a heavily smoothed one), a divergence point
detected as it happens (the sweep stops there), three suggestion rules (fastai's `valley`, the steepest descent,
the guide's "half of the divergence lr"), a judgement of whether the curve supports any suggestion at all, and
lr_find.json and lr_find.png in the run directory.

A range test that knows when it does not know: the suggestion is trusted only when the smoothed loss fell clearly
(`min_drop` of its start), the fall stands out of the step-to-step noise (`min_confidence`), and the point is not at
an edge of the swept range. Otherwise one line says so and the optimizer option's own default lr is used (what
`optimizer=<option>` trains with when no lr is given), never the curve's extreme.
"""

from __future__ import annotations

import itertools
import logging
import math
import statistics
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from pytorch_lightning.tuner import Tuner

from levers.config.location import config_dir
from levers.config.schema.diagnostics import LRFindConfig
from levers.config.schema.optimization import OptimizerConfig
from levers.diagnostics import TrainerFactory, record_in_saved_config
from levers.errors import LeversConfigError
from levers.io import write_json_atomic

log = logging.getLogger(__name__)

WARMUP_STEPS = 5  # the first losses are too few to call a divergence on
SKIP_STEEPEST = 3  # the first points of the curve are dominated by the smoothing's start-up
START_FRACTION = 0.1  # the loss "before any lr acts": the median raw loss over the sweep's first tenth


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
    return decide(result, settings, default_lr(module))


def analyse(lrs: list[float], raw: list[float], smoothed: list[float], diverged_at: int | None) -> dict[str, Any]:
    """Divergence lr, half of it (the guide's rule), the steepest descent of the smoothed loss per log-lr, fastai's
    valley, a tenth of the lr at the loss's minimum (fastai's `minimum`); and the figures that say whether to trust
    any of them (drop, noise, confidence)."""
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
    valley_at = valley(smoothed[:end])
    finite = [i for i in range(end) if math.isfinite(smoothed[i])]
    lowest = min(finite, key=smoothed.__getitem__, default=None)
    finite_best = smoothed[lowest] if lowest is not None else None
    return {
        "lrs": lrs,
        "losses": raw,
        "smoothed": smoothed,
        "steps_run": len(lrs),
        "diverged": divergence_lr is not None,
        "divergence_lr": divergence_lr,
        "half_divergence_lr": divergence_lr / 2 if divergence_lr is not None else None,
        "steepest_lr": steepest_lr,
        "valley_lr": lrs[valley_at] if valley_at is not None else None,
        "minimum_tenth_lr": lrs[lowest] / 10 if lowest is not None else None,
        "best_smoothed_loss": finite_best,
        **curve_quality(raw[:end], finite_best),
    }


def valley(smoothed: list[float]) -> int | None:
    """fastai's `valley` suggester: the index halfway into the longest decreasing run (not necessarily contiguous)
    of the smoothed loss; it sits inside the fall, not at its steepest point nor at its bottom."""
    n = len(smoothed)
    if n < 3 or not all(math.isfinite(v) for v in smoothed):
        return None
    longest = [1] * n  # longest decreasing subsequence ending at i
    start = end = 0
    for i in range(1, n):
        for j in range(i):
            if smoothed[i] < smoothed[j] and longest[i] < longest[j] + 1:
                longest[i] = longest[j] + 1
        if longest[i] > longest[end]:
            end, start = i, i - longest[i] + 1
    sections = (end - start) / 3
    return start + int(sections) + int(sections / 2)


def curve_quality(raw: list[float], best: float | None) -> dict[str, float]:
    """How far the smoothed loss fell below the loss at the sweep's start (`drop`, a fraction of it), the raw loss's
    typical step-to-step change (`noise`, the same unit), and `confidence = drop / (drop + noise)`: near 1 for a clear
    fall, near 0.5 when the fall is no bigger than the noise, 0 without a fall."""
    finite = [v for v in raw if math.isfinite(v)]
    if len(finite) < 3 or best is None:
        return {"start_loss": math.nan, "drop": 0.0, "noise": math.nan, "confidence": 0.0}
    start = statistics.median(finite[: max(3, int(START_FRACTION * len(finite)))])
    scale = abs(start) or 1.0
    drop = max(0.0, (start - best) / scale)
    noise = statistics.median(abs(b - a) for a, b in itertools.pairwise(finite)) / scale
    confidence = drop / (drop + noise) if drop > 0 else 0.0
    return {"start_loss": start, "drop": drop, "noise": noise, "confidence": confidence}


RULE_KEYS = {f"{rule}": f"{rule}_lr" for rule in ("valley", "minimum_tenth", "steepest", "half_divergence")}


def decide(result: dict[str, Any], settings: LRFindConfig, fallback_lr: float) -> dict[str, Any]:
    """The configured rule's lr when the curve supports it, else `fallback_lr`; records why in `result`."""
    rule = settings.suggestion
    rule_lr = result[RULE_KEYS[rule]]
    if rule_lr is None and rule == "half_divergence":  # the loss never diverged within the range
        rule, rule_lr = "valley", result["valley_lr"]
    doubts = doubts_about(result, rule_lr, settings)
    result.update(
        suggestion=rule,
        rule_lr=rule_lr,
        trusted=not doubts,
        doubts=doubts,
        fallback_lr=fallback_lr,
        suggested_lr=float(rule_lr) if not doubts and rule_lr is not None else fallback_lr,
    )
    return result


def doubts_about(result: dict[str, Any], lr: float | None, settings: LRFindConfig) -> list[str]:
    """Why the curve does not support `lr` (empty: it does)."""
    if lr is None:
        return ["too few losses to suggest an lr (raise diagnostics.lr_find.num_steps)"]
    doubts = []
    if result["drop"] < settings.min_drop:
        doubts.append(f"the loss fell only {result['drop']:.1%} over the range (needs {settings.min_drop:.0%})")
    if result["confidence"] < settings.min_confidence:
        doubts.append(
            f"the fall is within the noise (confidence {result['confidence']:.2f} < {settings.min_confidence:g})"
        )
    low, high = math.log10(result["lrs"][0]), math.log10(result["lrs"][-1])
    where = (math.log10(lr) - low) / (high - low) if high > low else 0.0
    if not settings.edge <= where <= 1 - settings.edge:
        side = "lowest" if where < 0.5 else "highest"
        doubts.append(f"{lr:.3g} is at the {side} edge of the swept range")
    return doubts


def default_lr(module: pl.LightningModule) -> float:
    """The lr `optimizer=<option>` trains with when none is given: its YAML's `lr`, else the schema's default
    (conf/optimizer/<option>.yaml; the option is found by the torch class the module's optimizer factory builds)."""
    factory = getattr(module, "optimizer_factory", None)
    return option_default_lr(getattr(getattr(factory, "func", None), "__name__", ""))


def option_default_lr(class_name: str) -> float:
    """The default lr of the optimizer option whose `_target_` is torch.optim.<class_name>."""
    schema_default = float(OptimizerConfig.__dataclass_fields__["lr"].default)
    name = class_name
    for path in sorted((Path(config_dir()) / "optimizer").glob("*.yaml")):
        option = OmegaConf.load(path)
        if str(option.get("_target_", "")).rsplit(".", 1)[-1] == name:
            return float(option.get("lr", schema_default))
    return schema_default


def save(result: dict[str, Any], output_dir: Path) -> None:
    write_json_atomic(output_dir / "lr_find.json", result)
    from levers.diagnostics.plots import plot_lr_find, save_figure  # matplotlib only in this mode

    save_figure(plot_lr_find, result, output_dir / "lr_find.png")


def describe(result: dict[str, Any]) -> str:
    if result["diverged"]:
        head = f"loss diverges at lr={result['divergence_lr']:.3g}; half of it: {result['half_divergence_lr']:.3g}"
    else:
        head = f"loss never diverged up to lr={result['lrs'][-1]:.3g} (raise diagnostics.lr_find.max_lr)"
    for key, label in (("valley_lr", "valley"), ("steepest_lr", "steepest descent")):
        if result.get(key):
            head += f"; {label}: {result[key]:.3g}"
    return f"{head}; loss fell {result['drop']:.0%}, confidence {result['confidence']:.2f}"


def verdict(result: dict[str, Any]) -> str:
    """One line: the lr chosen and by which rule, or why no suggestion is trusted and what is used instead."""
    if result["trusted"]:
        return f"suggested lr ({result['suggestion']}): {result['suggested_lr']:.3g}"
    return (
        f"no trustworthy suggestion ({'; '.join(result['doubts'])}): using the optimizer's default"
        f" lr {result['fallback_lr']:.3g}"
    )


def run_lr_find(settings: LRFindConfig, new_trainer: TrainerFactory, built: Any, output_dir: Path) -> float:
    """`mode=lr_find`: the test alone; returns the suggested lr."""
    result = range_test(settings, new_trainer, built.data, built.module)
    save(result, output_dir)
    log.info("LR range test: %s", describe(result))
    log.log(
        logging.INFO if result["trusted"] else logging.WARNING,
        "%s  ->  optimizer.lr=%.3g",
        verdict(result),
        result["suggested_lr"],
    )
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
    record_in_saved_config("optimizer.lr", lr)
    log.info("optimizer.lr=auto: %s", describe(result))
    level = logging.INFO if result["trusted"] else logging.WARNING
    log.log(level, "optimizer.lr=auto: %s -> training with optimizer.lr=%.3g", verdict(result), lr)
    keys = ("suggestion", "trusted", "confidence", "doubts", "divergence_lr")
    return {"lr": lr, **{key: result[key] for key in keys}}
