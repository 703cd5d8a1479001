"""checkpoints/last.ckpt is written by time (callbacks.last_checkpoint.every_s), always after the last epoch, and
an interrupt never loses a finished epoch (the e2e interrupt tests send real signals)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from levers.config.validate import validate_config
from levers.errors import LeversConfigError
from levers.run import train


class LastOnDisk(pl.Callback):
    """The epoch checkpoints/last.ckpt holds at the start of every epoch after the first."""

    def __init__(self, folder: Path) -> None:
        self.path, self.epochs = folder / "checkpoints" / "last.ckpt", []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch > 0:
            self.epochs.append(torch.load(self.path, weights_only=True)["epoch"])


def run(make_cfg, *overrides: str) -> tuple[list[int], int, dict]:
    """(epoch in last.ckpt at each epoch's start, epoch in it at the end, summary.json)."""
    cfg = make_cfg("callbacks.early_stopping=null", *overrides)
    folder = Path(cfg.paths.output_dir)
    seen = LastOnDisk(folder)
    train(cfg, extra_callbacks=[seen])
    final = torch.load(seen.path, weights_only=True)["epoch"]
    return seen.epochs, final, json.loads((folder / "summary.json").read_text())


def test_short_epochs_are_written_once_per_every_s_and_the_last_epoch_always(make_cfg):
    during, final, _ = run(make_cfg, "callbacks.last_checkpoint.every_s=3600", "trainer.max_epochs=5")
    assert during == [0, 0, 0, 0]  # the first epoch opens the window; the next three fall inside it
    assert final == 4


def test_every_s_zero_writes_every_epoch(make_cfg):
    during, final, _ = run(make_cfg, "callbacks.last_checkpoint.every_s=0", "trainer.max_epochs=4")
    assert during == [0, 1, 2] and final == 3


def test_an_early_stopped_run_ends_with_its_last_epoch_on_disk(make_cfg):
    stopping = ["callbacks.early_stopping.patience=1", "callbacks.early_stopping.min_delta=100"]  # nothing improves
    cfg = make_cfg("callbacks.last_checkpoint.every_s=3600", "trainer.max_epochs=50", *stopping)
    train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    checkpoint = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert summary["epochs_run"] < 50
    assert checkpoint["epoch"] == summary["epochs_run"] - 1


def test_a_run_stopped_by_max_time_after_its_save_point_is_written_at_the_end(make_cfg):
    _, final, summary = run(
        make_cfg, "callbacks.last_checkpoint.every_s=3600", "trainer.max_epochs=100000", "trainer.max_time=00:00:00:02"
    )
    assert summary["epochs_run"] < 100000
    assert final == summary["epochs_run"] - 1


def test_a_negative_every_s_is_refused_naming_the_key(make_cfg):
    with pytest.raises(LeversConfigError, match=r"callbacks.last_checkpoint.every_s.*>= 0"):
        validate_config(make_cfg("callbacks.last_checkpoint.every_s=-1"))


class CtrlCAfterValidation(pl.Callback):
    """Ctrl-C at epoch 1's end, after its metrics row and summary count it, before the checkpoint's save point
    (Lightning runs checkpoint callbacks' hooks last)."""

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.current_epoch == 1 and not trainer.sanity_checking:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("validate_every", [1, 2])
def test_ctrl_c_between_an_epochs_validation_and_its_save_point_waits_for_the_write(make_cfg, validate_every):
    """Lightning saves at on_train_epoch_end when it validates every epoch, at on_validation_end otherwise."""
    cfg = make_cfg(
        "callbacks.early_stopping=null",
        "callbacks.last_checkpoint.every_s=3600",
        "trainer.max_epochs=5",
        f"trainer.check_val_every_n_epoch={validate_every}",
    )
    try:
        with pytest.raises(SystemExit):  # Lightning ends a fit that Ctrl-C interrupted with exit(1)
            train(cfg, extra_callbacks=[CtrlCAfterValidation()])
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Lightning ignores further Ctrl-C once it has one
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    checkpoint = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert summary["status"] == "interrupted" and summary["epochs_run"] == 2
    assert checkpoint["epoch"] == 1
