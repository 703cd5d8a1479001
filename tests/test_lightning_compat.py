"""The private Lightning attributes levers relies on (levers.lightning_compat) exist, and do what levers assumes,
on the installed Lightning: an upgrade that renames or changes one fails here, naming it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.core.optimizer import LightningOptimizer
from pytorch_lightning.loggers import Logger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import levers
from levers.lightning_compat import (
    USED,
    advance_logged_steps,
    checkpoints_within_epochs,
    continue_step_count,
    counted_step,
    epoch_ran_to_its_end,
)

BATCHES, EPOCHS, STEPS_PER_BATCH = 3, 2, 2


def owner(path: str) -> Any:
    """A real instance of what `path` (as written in lightning_compat.USED) names."""
    root, *attributes = path.split(".")
    if root == "LightningOptimizer":
        return LightningOptimizer(torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1))
    if root == "ModelCheckpoint":
        return ModelCheckpoint()
    assert root == "Trainer", f"no instance for {path}: add it to this test"
    obj = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False)
    for attribute in attributes:
        assert hasattr(obj, attribute), f"pytorch_lightning {pl.__version__} has no {path} (at {attribute})"
        obj = getattr(obj, attribute)
    return obj


@pytest.mark.parametrize(("path", "name"), USED, ids=[f"{path}.{name}" for path, name in USED])
def test_every_private_lightning_name_levers_uses_exists(path, name):
    assert hasattr(owner(path), name), (
        f"pytorch_lightning {pl.__version__} has no {path}.{name}, which levers.lightning_compat uses: update it"
    )


class Steps(pl.LightningModule):
    """A manual-optimization module that takes STEPS_PER_BATCH optimizer steps per batch, as fused steps do."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.net = nn.Linear(2, 1)
        self.at_batch_end: list[bool] = []

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        optimizer = self.optimizers()
        for _ in range(STEPS_PER_BATCH):
            optimizer.zero_grad()
            nn.functional.mse_loss(self.net(batch[0]), batch[1]).backward()
            counted_step(optimizer)
        advance_logged_steps(self.trainer, STEPS_PER_BATCH - 1)
        self.log("seen", float(batch_idx), on_step=True, on_epoch=False)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.at_batch_end.append(epoch_ran_to_its_end(self.trainer))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


class Automatic(Steps):
    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = True

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return nn.functional.mse_loss(self.net(batch[0]), batch[1])


class StepLogger(Logger):
    """Records the step every logged row is written at."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[int] = []

    name, version = "steps", 0  # type: ignore[assignment]

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if "seen" in metrics:
            self.steps.append(step)

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass


def fit(module: pl.LightningModule, logger: Logger | bool = False) -> pl.Trainer:
    data = DataLoader(TensorDataset(torch.randn(4 * BATCHES, 2), torch.randn(4 * BATCHES, 1)), batch_size=4)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=EPOCHS,
        logger=logger,
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.fit(module, data)
    return trainer


def test_counted_steps_are_global_steps_and_the_logged_step_axis_counts_them():
    logger = StepLogger()
    trainer = fit(module := Steps(), logger)
    assert trainer.global_step == EPOCHS * BATCHES * STEPS_PER_BATCH
    # A batch's row is written at the index of its last optimizer step, as the automatic loop writes a row at its step.
    assert logger.steps == [STEPS_PER_BATCH * (batch + 1) - 1 for batch in range(EPOCHS * BATCHES)]
    assert module.at_batch_end == EPOCHS * [*(BATCHES - 1) * [False], True]


@pytest.mark.parametrize("module", [Automatic, Steps], ids=["automatic", "manual"])
def test_continue_step_count_sets_the_global_step_of_either_mode(module):
    trainer = fit(module())
    continue_step_count(trainer, None)  # no checkpoint: left as it is
    assert trainer.global_step == EPOCHS * BATCHES * (1 if module is Automatic else STEPS_PER_BATCH)
    continue_step_count(trainer, 1000)
    assert trainer.global_step == 1000


@pytest.mark.parametrize(
    ("kwargs", "within"),
    [
        ({}, False),
        ({"every_n_epochs": 2}, False),
        ({"every_n_train_steps": 5}, True),
        ({"train_time_interval": timedelta(minutes=1)}, True),
    ],
)
def test_checkpoints_within_epochs_reads_what_modelcheckpoint_was_given(kwargs, within):
    assert checkpoints_within_epochs(ModelCheckpoint(**kwargs)) is within


def test_no_other_levers_module_touches_these_names():
    """The compatibility module is the only place to update after a Lightning upgrade."""
    loops = {"fit_loop", "epoch_loop", "optim_progress", "optim_step_progress"}
    names = {name for _, name in USED if name.startswith("_")} | loops
    source = Path(levers.__file__).parent
    touching = [
        f"{path.relative_to(source)}: .{name}"
        for path in sorted(source.rglob("*.py"))
        if path.name != "lightning_compat.py"
        for name in names
        if f".{name}" in path.read_text()
    ]
    assert touching == []
