"""The expensive, shareable part of the data stage: source -> rows -> task -> seeded split -> encoding -> scalers
fitted on train -> scaled tensors. Everything here depends only on the data config, the scaling method and the seed
(not on batch sizes), which is what lets a sweep reuse it across jobs (levers.data.cache). A reconstruction task's
target is its own scaled features (the same tensor twice), so its target scaler is the feature scaler.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from levers.config.schema.data import DataConfig
from levers.data.encoding import TableEncoder, encode_after_split
from levers.data.folds import split_for
from levers.data.scaling import AffineScaler
from levers.data.sources import load_source, select_rows
from levers.data.split import SplitIndices
from levers.data.task import RECONSTRUCTION, TaskSpec, infer_task, reconstruction_task
from levers.errors import LeversConfigError

SPLITS = ("train", "val", "test")
MIN_EVAL_ROWS = 2  # metrics such as r2 need two rows; fewer is no evaluation


@dataclass(frozen=True)
class PreparedData:
    """The prepared data set, shared read-only by every job with the same key.

    Never mutate `tensors` in place (no `x.mul_()`, `x[i] = ...`, `.copy_()`): the same tensor objects may serve
    several jobs of a sweep. Take a copy (`x.clone()`) or build a new tensor instead. The scalers here are the
    fitted originals; each job gets its own copy (TabularDataModule), since they go into a trained module.
    """

    task: TaskSpec
    class_names: tuple[Any, ...]
    encoder: TableEncoder | None
    feature_scaler: AffineScaler
    target_scaler: AffineScaler
    tensors: Mapping[str, tuple[torch.Tensor, torch.Tensor]]  # split name -> (features, target), scaled

    def split_size(self, name: str) -> int:
        return len(self.tensors[name][1])

    @property
    def nbytes(self) -> int:
        return sum(part.nbytes for pair in self.tensors.values() for part in pair)


def prepare(data: DataConfig, scaling_method: str, seed: int) -> PreparedData:
    """Load, split, encode and scale; encoders and scalers are fitted on the train split only.

    Memory: the rows are written once into one float32 matrix laid out train | val | test (each split's rows in
    file order), scaled in place, and the split tensors are views of it; no float64 or per-split copy of the
    whole table is ever made (issue 12: peak at most ~2.5x the tensors, see bench/memory.py).
    """
    features, target, held_out = select_rows(*load_source(data.source), data.classes, data.limit, data.holdout_last)
    reconstructing = data.task == RECONSTRUCTION  # the labels only choose rows (data.classes); never a target
    task = reconstruction_task(0) if reconstructing else infer_task(target, data.task)  # sized once encoded
    class_names: tuple[Any, ...] = ()
    if task.is_classification:
        classes, target = np.unique(target, return_inverse=True)  # labels -> 0..k-1
        class_names = tuple(classes.tolist())
    elif not reconstructing:
        _require_varying_target(target, data)
    split = split_for(target, data, seed, data.stratify and task.is_classification, held_out)
    _check_eval_splits(split, data)
    order = np.concatenate([split.train, split.val, split.test])
    matrix, encoder = encode_after_split(features, split.train, data, order)  # a table: fitted on train only
    del features  # a table's columns were consumed while encoding
    x = torch.from_numpy(matrix)
    # reconstruction: the same rows, scaled in place below, no copy (read-only, as every tensor here)
    y = x if reconstructing else _target_tensor(target[order], task)
    bounds = np.cumsum([0, len(split.train), len(split.val), len(split.test)])
    train = slice(0, bounds[1])
    codes = [column for column, _ in encoder.input_layout()["categorical"]] if encoder is not None else []
    feature_scaler = AffineScaler(x.shape[1]).fit(x[train], scaling_method, untouched=codes)
    if reconstructing:
        task, target_scaler = reconstruction_task(x.shape[1]), copy.deepcopy(feature_scaler)
    else:
        target_scaler = AffineScaler(1 if y.ndim == 1 else y.shape[1])
    if task.kind == "regression":
        target_scaler.fit(y[train], "standard" if data.target_scaling == "standard" else "none")
        y = target_scaler(y)
    feature_scaler.scale_(x)  # in place: x is this function's own matrix, not yet shared
    parts = [slice(start, stop) for start, stop in itertools.pairwise(bounds)]
    tensors = MappingProxyType({name: (x[rows], y[rows]) for name, rows in zip(SPLITS, parts, strict=True)})
    return PreparedData(task, class_names, encoder, feature_scaler, target_scaler, tensors)


def _require_varying_target(target: np.ndarray, data: DataConfig) -> None:
    """A regression target that never changes leaves nothing to learn (and a zero spread to scale by)."""
    values = target.reshape(len(target), -1)
    constant = [j for j in range(values.shape[1]) if len(values) and np.all(values[:, j] == values[0, j])]
    if constant:
        names = getattr(data, "target", None) or data.name
        named = names if isinstance(names, str) else [list(names)[j] for j in constant]
        raise LeversConfigError(
            "data.target",
            named,
            f"a target that varies (every row holds {values[0, constant[0]].item()!r}: nothing to learn; "
            "pick another column)",
        )


def _check_eval_splits(split: SplitIndices, data: DataConfig) -> None:
    for name, rows, fraction in (("val", split.val, data.val_fraction), ("test", split.test, data.test_fraction)):
        if fraction > 0 and len(rows) < MIN_EVAL_ROWS:
            raise LeversConfigError(
                f"data.{name}_fraction", fraction, f"a {name} split of at least {MIN_EVAL_ROWS} rows (got {len(rows)})"
            )


def _target_tensor(target: np.ndarray, task: TaskSpec) -> torch.Tensor:
    return torch.from_numpy(target).long() if task.is_classification else _as_float_column(target)


def _as_float_column(target: np.ndarray) -> torch.Tensor:
    y = torch.from_numpy(np.asarray(target, dtype=np.float32))
    return y[:, None] if y.ndim == 1 else y
