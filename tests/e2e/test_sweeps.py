"""Sweeps through the real `train.py -m` in a subprocess: jobs in parallel processes with the joblib launcher."""

from __future__ import annotations

import csv
import json
import os
import re

import pytest

from tests.e2e.test_cli import QUICK, finish, launch

pytestmark = pytest.mark.slow


def test_joblib_runs_two_jobs_in_parallel_processes_and_reports(tmp_path):
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
        assert line and int(line[1]) == max((os.cpu_count() or 1) // 2, 1)  # loky: cores // n_jobs threads
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
