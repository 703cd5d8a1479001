"""summary.json while a run goes: rewritten after validation, at most once per interval; final states at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytorch_lightning as pl

from levers.callbacks.summary import RunSummary
from levers.run import train


class EpochsOnDisk(pl.Callback):
    """Reads summary.json's epochs_run at the end of every training epoch (after validation wrote it)."""

    def __init__(self, path: Path) -> None:
        self.path, self.seen = path, []

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seen.append(json.loads(self.path.read_text())["epochs_run"])


@pytest.mark.parametrize(("interval", "expected"), [(0.0, [1, 2, 3, 4]), (3600.0, [1, 1, 1, 1])])
def test_running_summary_is_rewritten_at_most_once_per_interval(make_cfg, monkeypatch, interval, expected):
    monkeypatch.setattr(RunSummary, "min_running_interval_s", interval)
    cfg = make_cfg("trainer.max_epochs=4", "callbacks.early_stopping=null")
    on_disk = EpochsOnDisk(Path(cfg.paths.output_dir) / "summary.json")
    train(cfg, extra_callbacks=[on_disk])
    assert on_disk.seen == expected
    final = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert final["status"] == "completed" and final["epochs_run"] == 4
