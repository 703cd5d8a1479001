"""A broken or foreign checkpoint is one line naming the key and what is allowed, for every command that reads one."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from levers.errors import LeversConfigError
from levers.run import train
from tests.conftest import compose_cfg, levers_command

TINY = ["trainer.max_epochs=1"]


@pytest.fixture(scope="module")
def digits_checkpoint(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("digits") / "run"
    train(compose_cfg(run, *TINY, "data.limit=200"))
    return run / "checkpoints" / "last.ckpt"


def truncated(good: Path, folder: Path) -> Path:
    (path := folder / "truncated.ckpt").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return path


def random_bytes(good: Path, folder: Path) -> Path:
    (path := folder / "random.ckpt").write_bytes(np.random.default_rng(0).bytes(4096))
    return path


def rows(folder: Path, columns: int, count: int = 3) -> str:
    path = folder / f"rows{columns}.csv"
    pd.DataFrame(np.zeros((count, columns)), columns=[f"x{i}" for i in range(columns)]).to_csv(path, index=False)
    return str(path)


def run_command(command: str, checkpoint: str, folder: Path) -> None:
    if command == "train":
        train(compose_cfg(folder / "new_run", *TINY, "data.limit=200", f"ckpt_path={checkpoint}"))
        return
    extra = {"predict": {"input": rows(folder, 64), "output": folder / "predictions.csv"}}
    extra["export"] = {"output": folder / "out.pt"}
    levers_command(command, folder / command, ckpt_path=checkpoint, **extra.get(command, {}))


@pytest.mark.parametrize("command", ["eval", "predict", "export", "train"])
@pytest.mark.parametrize("damage", [truncated, random_bytes])
def test_a_damaged_checkpoint_is_named_as_not_a_checkpoint(digits_checkpoint, tmp_path, command, damage):
    path = damage(digits_checkpoint, tmp_path)
    with pytest.raises(LeversConfigError, match=r"\(checkpoints/\*.ckpt of a run\); it is (truncated|not readable)"):
        run_command(command, str(path), tmp_path)


def test_training_from_a_missing_checkpoint_names_ckpt_path(tmp_path):
    with pytest.raises(LeversConfigError, match=r"^ckpt_path=.*an existing local checkpoint file") as error:
        run_command("train", str(tmp_path / "nowhere.ckpt"), tmp_path)
    assert error.value.key == "ckpt_path"


def test_training_from_a_checkpoint_of_other_inputs_is_refused(digits_checkpoint, tmp_path):
    with pytest.raises(LeversConfigError, match=r"a model with 13 input features \(this one has 64\)"):
        train(compose_cfg(tmp_path / "wine", *TINY, "data=wine", f"ckpt_path={digits_checkpoint}"))
    assert not (tmp_path / "wine" / "checkpoints").exists()


def test_predicting_rows_of_other_width_names_the_input(digits_checkpoint, tmp_path):
    with pytest.raises(LeversConfigError, match=r"^input='13 columns' is not allowed: 64 numeric feature columns"):
        levers_command("predict", tmp_path, ckpt_path=digits_checkpoint, input=rows(tmp_path, 13))


def test_predicting_a_table_without_rows_is_refused(digits_checkpoint, tmp_path):
    with pytest.raises(LeversConfigError, match=r"^input=.* at least one data row"):
        levers_command("predict", tmp_path, ckpt_path=digits_checkpoint, input=rows(tmp_path, 64, 0))
    assert not (tmp_path / "predictions.csv").exists()


def test_evaluating_on_a_table_that_lost_a_column_is_refused(tmp_path):
    table = tmp_path / "table.csv"
    frame = pd.DataFrame({"a": np.arange(60) % 7, "b": np.arange(60) % 5, "y": np.arange(60) % 2})
    frame.to_csv(table, index=False)
    run = tmp_path / "run"
    train(compose_cfg(run, *TINY, "data=table", f"data.path={table}", "data.target=y"))
    frame.drop(columns="b").to_csv(table, index=False)
    with pytest.raises(LeversConfigError, match=r"a model with 1 input features \(this one has 2\)"):
        levers_command("eval", tmp_path / "eval", ckpt_path=run / "checkpoints" / "last.ckpt")


def test_files_follow_the_users_umask(tmp_path):
    previous = os.umask(0o077)
    try:
        run = tmp_path / "run"
        train(compose_cfg(run, *TINY, "data.limit=200"))
    finally:
        os.umask(previous)
    written = [run / "summary.json", run / "checkpoints" / "last.ckpt", run / "metrics.csv"]
    assert {oct(path.stat().st_mode & 0o777) for path in written} == {"0o600"}
