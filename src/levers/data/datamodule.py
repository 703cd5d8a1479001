"""The data stage: source -> rows -> task -> seeded split -> scalers fitted on train -> tensors held once.

The preparation itself lives in levers.data.prepared and is shared across the jobs of a sweep (levers.data.cache);
this module adds what is per job: the batch-size check, the job's own scaler copies and the dataloaders.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytorch_lightning as pl

from levers.config.schema.data import DataConfig
from levers.data.augment import ImageAugment
from levers.data.batches import InMemoryBatches
from levers.data.cache import prepared_data
from levers.data.placement import data_device, free_memory, tensor_bytes
from levers.data.task import TaskSpec
from levers.errors import LeversConfigError


class TabularDataModule(pl.LightningDataModule):
    """Prepares everything eagerly in the constructor, so the model can be sized from it before the Trainer.

    `tensors` are shared with other jobs of the same sweep that have the same data config: read them, never change
    them in place (see levers.data.prepared.PreparedData).
    """

    steps_per_call = 1  # mini-batches per training item (levers.fused_steps); set by the run once it knows

    def __init__(self, data: DataConfig, scaling_method: str, seed: int) -> None:
        super().__init__()
        self.config, self.seed = data, seed
        prepared = prepared_data(data, scaling_method, seed)
        if data.batch_size != "auto":  # auto: decided later by probing (use_batch_size)
            _check_batch_size(data.batch_size, prepared.split_size("train"))
        self.task: TaskSpec = prepared.task
        self.class_names: list = list(prepared.class_names)
        self.encoder = prepared.encoder
        # The scalers become buffers of this job's LightningModule (moved to its device, loaded from checkpoints):
        # each job gets its own copy so that nothing one job does to them reaches the cache.
        self.feature_scaler = copy.deepcopy(prepared.feature_scaler)
        self.target_scaler = copy.deepcopy(prepared.target_scaler)
        self.tensors = dict(prepared.tensors)
        self.augment = ImageAugment.of(data.augment, data.image_shape, self.feature_scaler, seed)

    def use_batch_size(self, size: int) -> None:
        """Train with `size` rows per batch from now on (`data.batch_size=auto` and its probes), checked as a
        configured one; the config is replaced, never changed in place (the cache may share it)."""
        _check_batch_size(size, self.split_size("train"))
        self.config = dataclasses.replace(self.config, batch_size=size)

    def setup(self, stage: str) -> None:
        """Move the data set to the accelerator once, when `data.on_device` says so (levers.data.placement).

        The job's dict gets new tensors; the cached ones stay where they are, untouched.
        """
        if self.trainer is None:
            return
        device = self.trainer.strategy.root_device
        target = data_device(self.config.on_device, device, tensor_bytes(self.tensors), free_memory(device))
        if target != self.tensors["train"][0].device:
            self.tensors = {name: (x.to(target), y.to(target)) for name, (x, y) in self.tensors.items()}

    @property
    def num_features(self) -> int:
        return self.tensors["train"][0].shape[1]

    def split_size(self, name: str) -> int:
        return len(self.tensors[name][1])

    def train_dataloader(self) -> InMemoryBatches:
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        if self.augment is not None:
            self.augment.restart()
        return InMemoryBatches(
            *self.tensors["train"],
            batch_size=self.config.batch_size,
            shuffle=True,
            seed=self.seed,
            rank=rank,
            world_size=world,
            steps_per_call=self.steps_per_call,
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Training batches only, on the device they train on: augmentation (levers.data.augment)."""
        if self.augment is None or self.trainer is None or not self.trainer.training:
            return batch
        features, target = batch
        return self.augment(features, self.trainer.current_epoch), target

    def val_dataloader(self) -> InMemoryBatches:
        return self._eval_batches("val")

    def test_dataloader(self) -> InMemoryBatches:
        return self._eval_batches("test")

    def _eval_batches(self, name: str) -> InMemoryBatches:
        return InMemoryBatches(*self.tensors[name], batch_size=self.config.eval_batch_size, shuffle=False)


def _check_batch_size(size: int, train_rows: int) -> None:
    if train_rows < size:
        raise LeversConfigError("data.batch_size", size, f"at most the train split's size ({train_rows} rows)")
