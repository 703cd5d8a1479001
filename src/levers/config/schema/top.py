"""Top-level keys of conf/train.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from levers.config.schema.checks import AT_LEAST_ONE, MAX_SEED, MONITOR_MODE, Check, checked, int_in, one_of
from levers.config.schema.diagnostics import MODES

THREADS = Check(lambda v: v == "auto" or (type(v) is int and v >= 1), "auto or an integer >= 1")
STEPS_PER_CALL = Check(lambda v: v == "auto" or (type(v) is int and v >= 1), "auto or an integer >= 1")


@dataclass
class PathsConfig:
    output_dir: str = "${hydra:runtime.output_dir}"


@dataclass
class TrainConfig:
    """Top-level keys of a training run (conf/train.yaml composes the groups onto it); each default is written here
    only, the groups carry their own schemas."""

    seed: int = checked(42, int_in(0, MAX_SEED, f"an integer in 0..{MAX_SEED}"))  # torch, numpy, python, the split
    # train | lr_find (LR range test) | overfit (fit a few batches) | gradcheck
    mode: str = checked("train", one_of(*MODES))
    monitor: str = "val/loss"  # the metric early stopping, checkpoints, the plateau scheduler and sweeps follow
    monitor_mode: str = checked("min", MONITOR_MODE)  # min | max (e.g. val/acc wants max)
    resume: str | None = None  # a run directory to continue (its config, its checkpoints/last.ckpt)
    ckpt_path: str | None = None  # start this config's training from a checkpoint
    quiet: bool | None = None  # true: no progress bar, summary or final table; null: quiet in multirun only
    # true: Lightning's own lines on the console too (GPU/TPU availability, tips) and its full model summary
    verbose: bool = False
    # optimizer steps per Lightning training step (chunked mini-batches, same result): auto | an int >= 1
    steps_per_call: Any = checked("auto", STEPS_PER_CALL)  # noqa: RUF009 (a Field, as dataclasses.field returns)
    # torch's intra-op threads: auto (free cores, and one for small steps: src/levers/threads.py) | an int >= 1
    threads: Any = checked("auto", THREADS)  # noqa: RUF009 (a Field, as dataclasses.field returns)
    # Lightning steps (calls, see steps_per_call) between two progress-bar refreshes
    progress_every: int = checked(25, AT_LEAST_ONE)
    paths: PathsConfig = field(default_factory=PathsConfig)
    data: Any = MISSING
    scaling: Any = MISSING
    model: Any = MISSING
    loss: Any = MISSING
    optimizer: Any = MISSING
    scheduler: Any = MISSING
    regularization: Any = MISSING
    trainer: Any = MISSING
    callbacks: Any = MISSING
    logger: Any = MISSING
    diagnostics: Any = MISSING
