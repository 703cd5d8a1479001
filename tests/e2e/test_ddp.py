"""A real two-process DDP run on CPU (gloo): one run directory, one summary, the single-process run's metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from levers.run import train
from tests.conftest import FAST, ROOT
from tests.e2e.test_shared_study import PRUNE_AFTER_TWO_EPOCHS

pytestmark = pytest.mark.slow
# 596 digits leave 416 train rows: 13 batches of 32 in one process, or 13 of 16 on each of two ranks. DDP averages
# the two ranks' gradients, and rank r takes rows r, r+2, ... of the same shuffled order, so each step sees the
# same 32 rows as the single process. No dropout: its masks are drawn per rank.
SAME_RUN = [*FAST, "data.limit=596", "regularization=none", "trainer.max_epochs=2"]
TOLERANCE = 1e-4  # float32 all-reduce sums in a different order than one process does


def train_py(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """`python train.py ...` with this checkout's levers (whatever is installed), asserted to exit 0."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_two_process_ddp_matches_one_process_and_writes_one_run_directory(make_cfg, tmp_path):
    single = make_cfg(*SAME_RUN, "trainer=cpu", "data.batch_size=32")
    train(single)
    expected = json.loads((Path(single.paths.output_dir) / "summary.json").read_text())

    workdir = tmp_path / "ddp"
    workdir.mkdir()
    result = train_py(*SAME_RUN, "trainer=ddp_cpu", "data.batch_size=16", "verbose=true", cwd=workdir)
    assert "MEMBER: 2/2" in result.stdout + result.stderr  # a second process really joined
    (run,) = (workdir / "outputs" / "runs").iterdir()
    assert list(workdir.rglob("summary.json")) == [run / "summary.json"]
    assert len(list(workdir.rglob("config.yaml"))) == 1
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["split_sizes"] == expected["split_sizes"]
    assert summary["best_epoch"] == expected["best_epoch"]
    assert summary["best_value"] == pytest.approx(expected["best_value"], abs=TOLERANCE)
    for name, value in expected["test"].items():
        assert summary["test"][name] == pytest.approx(value, abs=TOLERANCE), name


GRID = {"optimizer.lr": ("0.005",), "model.depth": ("1", "2")}  # two jobs: a grid, at half the cost of four


def test_a_multirun_of_ddp_jobs_runs_each_job_as_its_own_two_process_run_with_its_single_run_metrics(
    make_cfg, tmp_path
):
    sweep = tmp_path / "sweep"
    grid = [f"{key}={','.join(values)}" for key, values in GRID.items()]
    train_py("-m", *SAME_RUN, "trainer=ddp_cpu", "data.batch_size=16", *grid, f"hydra.sweep.dir={sweep}",
             cwd=tmp_path, timeout=600)  # fmt: skip
    jobs = sorted(path.parent for path in sweep.glob("*/summary.json"))
    assert [job.name for job in jobs] == ["0", "1"]  # one run directory per job, nothing else
    for job in jobs:
        assert "MEMBER: 2/2" in (job / "train_ddp_process_1.log").read_text()  # the job's second rank joined
        overrides = [line.removeprefix("- ") for line in (job / ".hydra" / "overrides.yaml").read_text().splitlines()]
        chosen = [item for item in overrides if item.split("=")[0] in GRID]
        alone = make_cfg(*SAME_RUN, "trainer=cpu", "data.batch_size=32", *chosen)
        train(alone)
        expected = json.loads((Path(alone.paths.output_dir) / "summary.json").read_text())
        summary = json.loads((job / "summary.json").read_text())
        assert summary["status"] == "completed", chosen
        assert summary["best_value"] == pytest.approx(expected["best_value"], abs=TOLERANCE), chosen
        assert summary["test"]["test/acc"] == pytest.approx(expected["test"]["test/acc"], abs=TOLERANCE), chosen


def test_an_optuna_trial_run_as_ddp_is_pruned_on_every_rank_and_recorded_as_pruned(tmp_path):
    # rank 0 alone reports to the trial; were it alone to stop, rank 1 would wait in its next all-reduce
    train_py("-m", "hparams_search=optuna", "hydra.sweeper.n_trials=2", "trainer=ddp_cpu", "data.limit=596",
             "data.batch_size=16", *PRUNE_AFTER_TWO_EPOCHS, f"hydra.sweep.dir={tmp_path / 'sweep'}",
             f"hydra.sweeper.storage=sqlite:///{tmp_path / 'study.db'}", cwd=tmp_path)  # fmt: skip
    summaries = [json.loads(path.read_text()) for path in sorted((tmp_path / "sweep").glob("*/summary.json"))]
    assert [s["status"] for s in summaries] == ["pruned", "pruned"]
    assert all(s["error"].startswith("TrialPruned: pruned at epoch 1") for s in summaries)
