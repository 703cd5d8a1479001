"""Schemas of the `data` and `scaling` groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING


@dataclass
class DataConfig:
    name: str = MISSING
    source: Any = MISSING  # a `_target_` node returning (features, target)
    task: str = "auto"  # auto | multiclass | binary | regression
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    stratify: bool = True
    batch_size: int = 32
    eval_batch_size: int = 1024
    limit: int | None = None  # keep the first N samples (after class filtering): start from a small task
    classes: list[int] | None = None  # keep only these classes, e.g. [0, 1]
    target_scaling: str = "standard"  # regression only: standard | none
    holdout_last: int | None = None  # the last N rows are the test split (a data set's official test set)
    image_shape: list[int] | None = None  # [channels, height, width] for image data (cnn, rnn models)
    folds: int = 1  # k >= 2: k-fold cross-validation (stratified for classification); the run returns the mean
    fold: int | None = None  # with folds > 1: null runs every fold, i runs fold i only
    on_device: Any = "auto"  # auto | true | false: hold the data set on the accelerator (no per-step copy)


@dataclass
class ScalingConfig:
    method: str = "standard"  # standard | minmax | robust | decimal | none


OPTIONS: dict[str, dict[str, Any]] = {"data": {"dataset": DataConfig}, "scaling": {"scaling": ScalingConfig}}
