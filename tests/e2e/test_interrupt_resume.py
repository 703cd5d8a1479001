"""SIGTERM or Ctrl+C mid-training: everything written, exit 143 / 130 as shells report it; then `resume=<run dir>`
ends with the same final metrics as an uninterrupted run."""

from __future__ import annotations

import csv
import json
import signal
import time
from pathlib import Path

import pytest
import torch

from tests.e2e.test_cli import finish, launch

pytestmark = pytest.mark.slow
# Batches of 2 make epochs long enough (~0.3 s) to interrupt between them.
SLOW_EPOCHS = [
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.max_epochs=6",
    "data.batch_size=2",
    "hydra.run.dir=run",
]


def summary_of(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def last_epoch_on_disk(run: Path) -> int:
    """The epoch checkpoints/last.ckpt holds (written at most once a second; an interrupt waits for its epoch)."""
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["epoch"]


def validated_epochs(run: Path) -> int:
    """Epochs whose validation is in metrics.csv (appended every epoch; summary.json is rewritten at most once a s)."""
    try:
        with (run / "metrics.csv").open(newline="") as file:
            return sum(1 for row in csv.DictReader(file) if row.get("val/loss"))
    except FileNotFoundError:
        return 0


def wait_for_epochs(run: Path, epochs: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if validated_epochs(run) >= epochs:
            return
        time.sleep(0.02)
    raise AssertionError(f"the run did not reach epoch {epochs}")


def test_sigterm_keeps_a_resumable_run_that_ends_like_an_uninterrupted_one(tmp_path):
    straight_dir, broken_dir = tmp_path / "straight", tmp_path / "broken"
    straight_dir.mkdir(), broken_dir.mkdir()
    straight = launch(SLOW_EPOCHS, straight_dir)
    broken = launch(SLOW_EPOCHS, broken_dir)
    wait_for_epochs(broken_dir / "run", 2)
    broken.send_signal(signal.SIGTERM)
    code, output = finish(broken)
    assert code == 143, output
    interrupted = summary_of(broken_dir / "run")
    assert interrupted["status"] == "interrupted", output
    assert 2 <= interrupted["epochs_run"] < 6
    assert last_epoch_on_disk(broken_dir / "run") == interrupted["epochs_run"] - 1  # no finished epoch lost

    code, output = finish(launch(["resume=run"], broken_dir))
    assert code == 0, output
    assert finish(straight)[0] == 0
    resumed, expected = summary_of(broken_dir / "run"), summary_of(straight_dir / "run")
    assert resumed["status"] == "completed" and resumed["resumed_from"].endswith("last.ckpt")
    assert resumed["epochs_run"] == expected["epochs_run"] == 6
    assert resumed["best_epoch"] == expected["best_epoch"]
    assert resumed["best_value"] == pytest.approx(expected["best_value"], abs=1e-6)
    for name, value in expected["test"].items():
        assert resumed["test"][name] == pytest.approx(value, abs=1e-6)
    with (broken_dir / "run" / "metrics.csv").open() as file:
        val_epochs = [int(row["epoch"]) for row in csv.DictReader(file) if row["val/loss"]]
    assert val_epochs == list(range(6))  # every epoch's validation once: none lost, none doubled


def test_ctrl_c_writes_an_interrupted_summary_and_exits_130(tmp_path):
    run = launch(SLOW_EPOCHS, tmp_path)
    wait_for_epochs(tmp_path / "run", 2)  # epoch 1's row can land before its last.ckpt; epoch 0's is on disk by then
    run.send_signal(signal.SIGINT)
    code, output = finish(run)
    assert code == 130, output
    assert "levers: interrupted by SIGINT; exit code 130" in output and "Traceback" not in output
    interrupted = summary_of(tmp_path / "run")
    assert interrupted["status"] == "interrupted"
    assert last_epoch_on_disk(tmp_path / "run") == interrupted["epochs_run"] - 1


def test_sigterm_in_a_multirun_stops_the_sweep_with_exit_143(tmp_path):
    sweep = [arg for arg in SLOW_EPOCHS if not arg.startswith("hydra.run.dir")]
    run = launch(["-m", "optimizer=adam,sgd", "hydra.sweep.dir=sweep", *sweep], tmp_path)
    wait_for_epochs(tmp_path / "sweep" / "0", 1)
    run.send_signal(signal.SIGTERM)
    code, output = finish(run)
    assert code == 143, output
    assert summary_of(tmp_path / "sweep" / "0")["status"] == "interrupted"
    assert not (tmp_path / "sweep" / "1").exists()  # the next job never started
