"""Sweeps through the real `train.py -m` in a subprocess: jobs in parallel processes with the joblib launcher, and
data loaded once for the jobs that share it."""

from __future__ import annotations

import csv
import json
import re

import joblib
import pytest

from tests.e2e.test_cli import QUICK, finish, launch

pytestmark = pytest.mark.slow


def test_joblib_runs_two_jobs_in_parallel_processes_and_reports(tmp_path, monkeypatch):
    threads = max(joblib.cpu_count() // 2, 1)
    # Thread counts the jobs must not keep: loky hands a parent's settings on to its workers as they are.
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # torch reads MKL_NUM_THREADS first
        monkeypatch.setenv(variable, str(threads + 2))
    sweep = tmp_path / "sweep"
    args = ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}",
            "optimizer=adam,sgd", "data.limit=240", *QUICK]  # fmt: skip
    process = launch(args, tmp_path)
    code, output = finish(process)
    assert code == 0, output
    summaries = [json.loads((sweep / job / "summary.json").read_text()) for job in ("0", "1")]
    assert [s["status"] for s in summaries] == ["completed", "completed"]
    pids = set()
    for job in ("0", "1"):
        line = re.search(r"parallel jobs: (\d+) torch thread\(s\) for this job \(process (\d+)\)",
                         (sweep / job / "train.log").read_text())  # fmt: skip
        assert line and int(line[1]) == threads  # cores // n_jobs
        pids.add(int(line[2]))
    assert len(pids) == 2 and process.pid not in pids  # two worker processes, not the launching one
    rows = list(csv.DictReader((sweep / "leaderboard.csv").open()))
    assert sorted(row["optimizer"] for row in rows) == ["adam", "sgd"]
    assert f"dir:     {sweep / rows[0]['job']}" in output


def test_basic_and_joblib_launchers_give_identical_metrics(tmp_path):
    grid = ["-m", "seed=1,2", "data.limit=240", *QUICK]
    sweeps = {"basic": tmp_path / "basic", "joblib": tmp_path / "joblib"}
    processes = [
        launch([*grid, f"hydra.sweep.dir={sweeps['basic']}"], tmp_path),
        launch([*grid, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweeps['joblib']}"],
               tmp_path),
    ]  # fmt: skip
    for process in processes:
        code, output = finish(process)
        assert code == 0, output
    for job in ("0", "1"):
        basic, joblib = (json.loads((sweeps[k] / job / "summary.json").read_text()) for k in ("basic", "joblib"))
        assert basic["seed"] == joblib["seed"] == int(job) + 1
        assert basic["best_value"] == joblib["best_value"] and basic["test"] == joblib["test"]


def test_a_multirun_loads_the_data_once_for_the_jobs_that_share_it(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "scaling=standard,minmax", "data.batch_size=16,32", "data.limit=240", f"hydra.sweep.dir={sweep}",
            *QUICK]  # fmt: skip
    code, output = finish(launch(args, tmp_path))
    assert code == 0, output
    lines = [
        re.search(r"data: (loaded|reused) digits \[(\w+)\]", (sweep / job / "train.log").read_text()) for job in "0123"
    ]
    assert [line[1] for line in lines] == ["loaded", "reused", "loaded", "reused"]  # batch size varies fastest
    assert lines[0][2] == lines[1][2] != lines[2][2] == lines[3][2]  # one key per scaling
    batch_sizes = [json.loads((sweep / job / "summary.json").read_text())["overrides"][1] for job in "0123"]
    assert batch_sizes == ["data.batch_size=16", "data.batch_size=32"] * 2


def test_a_diverged_grid_job_is_a_failed_job_and_the_sweep_exits_1(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "optimizer=sgd", "optimizer.lr=1e-2,1e6", "data.limit=240", f"hydra.sweep.dir={sweep}", *QUICK]
    code, output = finish(launch(args, tmp_path))
    assert code == 1, output
    assert "1 of 2 jobs failed (marked in the leaderboard)" in output
    assert json.loads((sweep / "1" / "summary.json").read_text())["status"] == "diverged"  # the guard's verdict
    rows = list(csv.DictReader((sweep / "leaderboard.csv").open()))
    assert [(row["optimizer.lr"], row["status"]) for row in rows] == [("0.01", "completed"), ("1000000.0", "diverged")]
