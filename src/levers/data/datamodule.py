"""The data stage: source -> rows -> task -> seeded split -> scalers fitted on train -> tensors held once."""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig

from levers.data.batches import InMemoryBatches
from levers.data.encoding import encode_after_split
from levers.data.folds import split_for
from levers.data.placement import data_device, free_memory, tensor_bytes
from levers.data.scaling import AffineScaler
from levers.data.sources import load_source, select_rows
from levers.data.task import TaskSpec, infer_task
from levers.errors import LeversConfigError

SPLITS = ("train", "val", "test")
MIN_EVAL_ROWS = 2  # metrics such as r2 need two rows; fewer is no evaluation


class TabularDataModule(pl.LightningDataModule):
    """Prepares everything eagerly in the constructor, so the model can be sized from it before the Trainer."""

    steps_per_call = 1  # mini-batches per training item (levers.fused_steps); set by the run once it knows

    def __init__(self, data: DictConfig, scaling_method: str, seed: int) -> None:
        super().__init__()
        self.config, self.seed = data, seed
        features, target, held_out = select_rows(*load_source(data.source), data.classes, data.limit, data.holdout_last)
        self.task: TaskSpec = infer_task(target, data.task)
        self.class_names: list = []
        if self.task.is_classification:
            classes, target = np.unique(target, return_inverse=True)  # labels -> 0..k-1
            self.class_names = classes.tolist()
        split = split_for(target, data, seed, data.stratify and self.task.is_classification, held_out)
        for name, rows, fraction in (("val", split.val, data.val_fraction), ("test", split.test, data.test_fraction)):
            if fraction > 0 and len(rows) < MIN_EVAL_ROWS:
                raise LeversConfigError(
                    f"data.{name}_fraction",
                    fraction,
                    f"a {name} split of at least {MIN_EVAL_ROWS} rows (got {len(rows)})",
                )
        if len(split.train) < data.batch_size:
            raise LeversConfigError(
                "data.batch_size", data.batch_size, f"at most the train split's size ({len(split.train)} rows)"
            )
        features, self.encoder = encode_after_split(features, split.train, data)  # a table: fitted on train only
        x = torch.from_numpy(features)
        y = torch.from_numpy(target).long() if self.task.is_classification else _as_float_column(target)
        self.feature_scaler = AffineScaler(x.shape[1]).fit(x[split.train], scaling_method)
        self.target_scaler = AffineScaler(1 if y.ndim == 1 else y.shape[1])
        if not self.task.is_classification:
            self.target_scaler.fit(y[split.train], "standard" if data.target_scaling == "standard" else "none")
            y = self.target_scaler(y)
        x = self.feature_scaler(x)
        self.tensors = {name: (x[idx], y[idx]) for name, idx in zip(SPLITS, _as_tuple(split), strict=True)}

    def setup(self, stage: str) -> None:
        """Move the data set to the accelerator once, when `data.on_device` says so (levers.data.placement)."""
        if self.trainer is None:
            return
        device = self.trainer.strategy.root_device
        target = data_device(
            self.config.get("on_device", "auto"), device, tensor_bytes(self.tensors), free_memory(device)
        )
        if target != self.tensors["train"][0].device:
            self.tensors = {name: (x.to(target), y.to(target)) for name, (x, y) in self.tensors.items()}

    @property
    def num_features(self) -> int:
        return self.tensors["train"][0].shape[1]

    def split_size(self, name: str) -> int:
        return len(self.tensors[name][1])

    def train_dataloader(self) -> InMemoryBatches:
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        return InMemoryBatches(
            *self.tensors["train"],
            batch_size=self.config.batch_size,
            shuffle=True,
            seed=self.seed,
            rank=rank,
            world_size=world,
            steps_per_call=self.steps_per_call,
        )

    def val_dataloader(self) -> InMemoryBatches:
        return self._eval_batches("val")

    def test_dataloader(self) -> InMemoryBatches:
        return self._eval_batches("test")

    def _eval_batches(self, name: str) -> InMemoryBatches:
        return InMemoryBatches(*self.tensors[name], batch_size=self.config.eval_batch_size, shuffle=False)


def _as_float_column(target: np.ndarray) -> torch.Tensor:
    y = torch.from_numpy(np.asarray(target, dtype=np.float32))
    return y[:, None] if y.ndim == 1 else y


def _as_tuple(split) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return split.train, split.val, split.test
