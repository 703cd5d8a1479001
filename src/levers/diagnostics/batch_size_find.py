"""Batch-size finder: `data.batch_size=auto` before training, and `mode=batch_size_find` on its own.

Every probe is a short real fit: `steps` full training steps (forward, backward, optimizer step) of the run's own
Trainer (device, precision, clipping) on a copy of the module, at sizes doubled from `start` up to
min(`max`, the train split's rows). Two rules (diagnostics.batch_size_find.rule):

- fits (an accelerator's): the largest size that ran before an out-of-memory error, less `margin` when memory
  stopped the doubling; that smaller size is run once more, so the size returned is always one that ran.
- throughput (a CPU's, where memory rarely binds): the smallest size whose measured rows/s is at least
  (1 - `tolerance`) x the best one measured. Small batches generalize better (practice guide: mini-batches of
  2-32 beat large ones), so a larger batch must buy real speed to be chosen.

Written by hand rather than with Lightning's `Tuner.scale_batch_size`, whose open bugs each have a regression test
here (tests/diagnostics/test_batch_size_find.py): it may return a larger size than any it ran (then out of
memory), probes validation instead of training when asked, restores state through a checkpoint, and fails when the
batch size lives on the datamodule, as levers' does. Here the module given is deep-copied first: its weights and
the run's RNG are never touched (the composition root isolates the RNG as for `optimizer.lr=auto`).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import statistics
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.memory import garbage_collection_cuda, is_oom_error

from levers.config.schema.diagnostics import BatchSizeFindConfig
from levers.data.datamodule import TabularDataModule
from levers.diagnostics import TrainerFactory, record_in_saved_config
from levers.errors import LeversConfigError
from levers.io import write_json_atomic
from levers.optim import Schedule

log = logging.getLogger(__name__)

KEY = "data.batch_size"


class _StepTimer(pl.Callback):
    """Wall time of each training step (forward, backward, optimizer step), waiting for an accelerator's queue."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.rows: list[int] = []
        self._start = 0.0

    def _sync(self, module: pl.LightningModule) -> None:
        if module.device.type == "cuda":
            torch.cuda.synchronize(module.device)

    def on_train_batch_start(self, trainer: pl.Trainer, module: pl.LightningModule, batch: Any, idx: int) -> None:
        self._sync(module)
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs: Any, batch: Any, idx: int) -> None:
        self._sync(module)
        self.seconds.append(time.perf_counter() - self._start)
        self.rows.append(len(batch[1]))


def ladder(start: int, cap: int) -> list[int]:
    """start, 2 start, 4 start, ... and `cap` itself last (the train split's rows or `max`, whichever is less)."""
    sizes, size = [], min(start, cap)
    while size < cap:
        sizes.append(size)
        size *= 2
    return [*sizes, cap]


def probe(
    new_trainer: TrainerFactory, data: TabularDataModule, module: pl.LightningModule, size: int, steps: int
) -> dict[str, Any]:
    """One short fit at `size` rows per batch: a record with its rows/s, or with `out_of_memory` set."""
    data.use_batch_size(size)
    timer = _StepTimer()
    trainer = new_trainer(
        callbacks=[timer],
        enable_progress_bar=False,
        max_steps=steps,
        max_epochs=-1,
        min_epochs=None,
        min_steps=None,
        max_time=None,
        limit_train_batches=None,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    )
    if trainer.fast_dev_run:
        raise LeversConfigError("trainer.fast_dev_run", trainer.fast_dev_run, "false for a batch-size probe")
    if trainer.world_size > 1:  # each process would probe (and may choose) on its own
        raise LeversConfigError(
            KEY, "auto", "a number with several processes: find it on one device (mode=batch_size_find trainer=gpu)"
        )
    record: dict[str, Any] = {"batch_size": size, "device": str(trainer.strategy.root_device)}
    try:
        trainer.fit(module, datamodule=data)
    except RuntimeError as error:  # Lightning re-raises what the step raised
        if not (isinstance(error, torch.OutOfMemoryError) or is_oom_error(error)):  # (CUDA's, and CPU's message)
            raise
        record.update(out_of_memory=True, error=str(error).splitlines()[0][:200])
    else:
        # the first step pays for warm-up (allocations, kernels); the median step is robust to a busy machine
        rates = [rows / max(s, 1e-9) for rows, s in zip(timer.rows, timer.seconds, strict=True)][1:]
        record.update(out_of_memory=False, steps=len(timer.seconds), rows_per_s=statistics.median(rates))
    finally:
        del trainer
        garbage_collection_cuda()  # what the failed step held goes back before the next size is tried
    return record


def find(
    settings: BatchSizeFindConfig, new_trainer: TrainerFactory, data: TabularDataModule, module: pl.LightningModule
) -> dict[str, Any]:
    """Probe a copy of `module` at doubling sizes and pick one by the rule; `module` and `data` are left as given."""
    probed = copy.deepcopy(module)  # the probes' weights and optimizer state are this copy's only
    if isinstance(getattr(probed, "schedule", None), Schedule):  # a constant lr: no validation metric to step on
        probed.schedule = dataclasses.replace(probed.schedule, scheduler=None)
    train_rows = data.split_size("train")
    cap = min(settings.max, train_rows)
    original = data.config
    probes: list[dict[str, Any]] = []
    try:
        for size in ladder(settings.start, cap):
            probes.append(probe(new_trainer, data, probed, size, settings.steps))
            if probes[-1]["out_of_memory"]:
                break
        rule = settings.rule
        if rule == "auto":
            rule = "throughput" if probes[0]["device"] == "cpu" else "fits"
        ran = [p for p in probes if not p["out_of_memory"]]
        if not ran:
            raise LeversConfigError(
                "diagnostics.batch_size_find.start", settings.start, "a smaller size: even the first ran out of memory"
            )
        limited_by_memory = probes[-1]["out_of_memory"]
        if rule == "fits":
            chosen = ran[-1]["batch_size"]
            if limited_by_memory:
                chosen = _less_margin(chosen, settings.margin)
                if chosen not in {p["batch_size"] for p in ran}:
                    probes.append({**probe(new_trainer, data, probed, chosen, settings.steps), "confirms": True})
                    if probes[-1]["out_of_memory"]:
                        chosen = ran[-2]["batch_size"] if len(ran) > 1 else ran[0]["batch_size"]
        else:
            best = max(p["rows_per_s"] for p in ran)
            chosen = min(p["batch_size"] for p in ran if p["rows_per_s"] >= (1 - settings.tolerance) * best)
    finally:
        data.config = original
    return {
        "rule": rule,
        "chosen": chosen,
        "max": settings.max,
        "train_rows": train_rows,
        "limited_by": "memory" if limited_by_memory else "max" if cap == settings.max else "train rows",
        "margin": settings.margin,
        "tolerance": settings.tolerance,
        "steps_per_probe": settings.steps,
        "probes": probes,
    }


def _less_margin(size: int, margin: float) -> int:
    """`size` less `margin`, rounded down to a multiple of 8 (tensor cores) once there are 16 rows or more."""
    smaller = max(1, int(size * (1 - margin)))
    return smaller - smaller % 8 if smaller >= 16 else smaller


def describe(result: dict[str, Any]) -> str:
    tried = ", ".join(
        f"{p['batch_size']}: {'out of memory' if p['out_of_memory'] else format(p['rows_per_s'], '.0f') + ' rows/s'}"
        for p in result["probes"]
    )
    return f"{tried}; rule {result['rule']} (limited by {result['limited_by']}) -> {result['chosen']}"


def run_batch_size_find(
    settings: BatchSizeFindConfig,
    new_trainer: TrainerFactory,
    data: TabularDataModule,
    module: pl.LightningModule,
    output_dir: Path,
) -> float:
    """`mode=batch_size_find`: the probes alone; returns the chosen size."""
    result = find(settings, new_trainer, data, module)
    write_json_atomic(output_dir / "batch_size_find.json", result)
    log.info("batch-size probe: %s", describe(result))
    log.info("suggested: data.batch_size=%d (batch_size_find.json in %s)", result["chosen"], output_dir)
    return float(result["chosen"])


def choose_batch_size(
    settings: BatchSizeFindConfig,
    new_trainer: TrainerFactory,
    data: TabularDataModule,
    module: pl.LightningModule,
    output_dir: Path,
) -> dict[str, Any]:
    """`data.batch_size=auto`: probe, record, and hand the data module the chosen size."""
    result = find(settings, new_trainer, data, module)
    write_json_atomic(output_dir / "batch_size_find.json", result)
    data.use_batch_size(result["chosen"])
    record_in_saved_config(KEY, result["chosen"])
    log.info("data.batch_size=auto: %s", describe(result))
    return {"batch_size": result["chosen"], "rule": result["rule"], "limited_by": result["limited_by"]}
