"""SIGKILL at random moments never leaves a torn summary.json, metrics.csv or checkpoint."""

from __future__ import annotations

import csv
import json
import random
import signal
import time
from pathlib import Path

import pytest
import torch

from tests.e2e.test_cli import finish, launch

pytestmark = pytest.mark.slow
BUSY_WRITER = [  # short epochs: summary, metrics and two checkpoints rewritten several times a second
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.max_epochs=200",
    "data.batch_size=64",
    "callbacks.early_stopping=null",
    "callbacks.model_checkpoint.save_top_k=3",
]
KILLS = 3


def assert_everything_on_disk_parses(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "running" and summary["epochs_run"] >= 1
    with (run / "metrics.csv").open(newline="") as file:
        rows = list(csv.reader(file))
    assert len(rows) > 1 and all(len(row) == len(rows[0]) for row in rows)
    checkpoints = list((run / "checkpoints").glob("*.ckpt"))
    assert checkpoints
    for checkpoint in checkpoints:
        assert "state_dict" in torch.load(checkpoint, weights_only=True)


def test_killed_runs_leave_only_whole_files(tmp_path):
    chance = random.Random(7)
    processes = [launch([*BUSY_WRITER, f"hydra.run.dir=run{i}"], tmp_path) for i in range(KILLS)]
    for i, process in enumerate(processes):
        summary = tmp_path / f"run{i}" / "summary.json"
        deadline = time.monotonic() + 120
        while not summary.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(chance.uniform(0.0, 1.5))
        process.send_signal(signal.SIGKILL)
        assert finish(process)[0] == -signal.SIGKILL
        assert_everything_on_disk_parses(tmp_path / f"run{i}")
