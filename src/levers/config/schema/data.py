"""Schemas of the `data` and `scaling` groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING

from levers.config.schema.checks import AT_LEAST_ONE, FRACTION, SCALING_METHOD, Check, at_least, checked, one_of

ON_DEVICE = Check(lambda v: v == "auto" or isinstance(v, bool), "auto, true or false")
FOLDS = at_least(1, ">= 1 (1: one train/val split; k >= 2: k-fold cross-validation)")
BATCH_SIZE = Check(lambda v: v == "auto" or (type(v) is int and v >= 1), "auto or an integer >= 1")
AUGMENTS = ("none", "shift", "shift_rotate")  # levers.data.augment


@dataclass
class DataConfig:
    name: str = MISSING
    source: Any = MISSING  # a `_target_` node returning (features, target)
    # reconstruction: the target is the scaled features themselves (model=autoencoder); any label is unused
    task: str = checked("auto", one_of("auto", "multiclass", "binary", "regression", "reconstruction"))
    val_fraction: float = checked(0.15, FRACTION)
    test_fraction: float = checked(0.15, FRACTION)
    stratify: bool = True  # stratified split when the task is classification (never for reconstruction)
    # rows per mini-batch, or auto: found by probing training steps (levers.diagnostics.batch_size_find)
    batch_size: Any = checked(32, BATCH_SIZE)  # noqa: RUF009 (a Field, as dataclasses.field returns)
    eval_batch_size: int = checked(1024, AT_LEAST_ONE)
    # keep the first N samples (after class filtering): start from a small task
    limit: int | None = checked(None, at_least(2, "null or >= 2", nullable=True))
    classes: list[int] | None = None  # keep only these classes, e.g. [0, 1]
    # regression only (reconstruction's target scaling is the feature scaling)
    target_scaling: str = checked("standard", one_of("standard", "none"))
    # the last N rows are the test split (a data set's official test set)
    holdout_last: int | None = checked(None, at_least(1, "null or >= 1", nullable=True))
    image_shape: list[int] | None = None  # [channels, height, width] for image data (cnn, rnn models)
    # random shifts (and small rotations) of training images, per batch, seeded (levers.data.augment)
    augment: str = checked("none", one_of(*AUGMENTS))
    folds: int = checked(1, FOLDS)  # k >= 2: k-fold cross-validation (stratified for classes); the run returns the mean
    fold: int | None = None  # with folds > 1: null runs every fold, i runs fold i only
    # auto | true | false: hold the data set on the accelerator (no per-step copy)
    on_device: Any = checked("auto", ON_DEVICE)  # noqa: RUF009 (a Field, as dataclasses.field returns)


@dataclass
class ScalingConfig:
    """Feature scaling, fitted on the train split only and saved with the model (src/levers/data/scaling.py). No
    default: each option of the group is one method and says which."""

    method: str = checked(MISSING, SCALING_METHOD)  # standard | minmax | robust | decimal | none


OPTIONS: dict[str, dict[str, Any]] = {"data": {"dataset": DataConfig}, "scaling": {"scaling": ScalingConfig}}
