"""Sweeps through the real `train.py -m` in a subprocess: jobs in parallel processes with the joblib launcher, and
data loaded once for the jobs that share it."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import joblib
import optuna
import pytest
from optuna.trial import TrialState

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


SMALL_STUDY = ["-m", "hparams_search=optuna", "model.width=choice(16,32)", "data.batch_size=choice(32,64)",
               "data.limit=240", *QUICK]  # fmt: skip


def optuna_args(storage: str, sweep: Path, n_trials: int, *extra: str) -> list[str]:
    return [*SMALL_STUDY, f"hydra.sweeper.storage={storage}", f"hydra.sweeper.n_trials={n_trials}",
            f"hydra.sweep.dir={sweep}", *extra]  # fmt: skip


def trial_states(db: Path) -> list[str]:
    """The states in a study's sqlite file, read-only (no table creation racing the sweep), [] before it exists."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
            return [state for (state,) in connection.execute("SELECT state FROM trials ORDER BY number")]
    except sqlite3.OperationalError:
        return []


def wait_for(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_killed_optuna_sweep_rerun_ends_with_exactly_its_budget_of_trials(tmp_path):
    db, sweep = tmp_path / "study.db", tmp_path / "sweep"
    heartbeat = ["hydra.sweeper.heartbeat_interval=1", "hydra.sweeper.grace_period=2"]
    args = optuna_args(f"sqlite:///{db}", sweep, 5, *heartbeat)
    first = launch(args, tmp_path)
    wait_for(lambda: trial_states(db).count("COMPLETE") == 3 and (sweep / "3" / ".hydra").is_dir())
    first.kill()  # SIGKILL while trial 3 trains: nothing gets to mark it as ended
    first.communicate()
    assert trial_states(db)[3] == "RUNNING"
    time.sleep(2.5)  # its last heartbeat is now older than the grace period
    code, output = finish(launch(args, tmp_path))  # the same command again

    study = optuna.load_study(study_name="levers", storage=f"sqlite:///{db}")
    states = [trial.state for trial in study.trials]
    assert len(states) == 6, f"{states}\n{output[-3000:]}"  # what the rerun said, should it stop short
    killed, retry = study.trials[3], study.trials[4]
    assert states.count(TrialState.COMPLETE) == 5 and states.count(TrialState.FAIL) == 1 and len(states) == 6
    assert killed.state == TrialState.FAIL  # stale: marked FAIL on resume ...
    assert retry.system_attrs["failed_trial"] == 3 and retry.params == killed.params  # ... and re-queued once
    rows = list(csv.DictReader((sweep / "leaderboard.csv").open()))
    assert sorted(row["job"] for row in rows) == [str(number) for number in range(6)]  # job dir = trial number
    assert rows[0]["job"] == str(study.best_trial.number)  # the leaderboard and Optuna agree on the best
    assert float(rows[0]["val/loss"]) == pytest.approx(study.best_value, rel=1e-5)
    assert next(row for row in rows if row["job"] == "3")["status"] == "failed"  # killed: no final status
    assert code == 1 and "1 of 6 jobs failed" in output, output  # the killed job stays a failed job of this sweep


def test_two_optuna_workers_started_together_on_a_fresh_sqlite_file_share_the_study(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    sweeps = [tmp_path / "worker_a", tmp_path / "worker_b"]
    workers = [launch(optuna_args(storage, sweep, 4), tmp_path) for sweep in sweeps]  # same seed, same second
    results = [finish(worker) for worker in workers]
    assert [code for code, _ in results] == [0, 0], results
    study = optuna.load_study(study_name="levers", storage=storage)
    assert len(study.trials) == 4  # one budget: workers count and ask under a lock file beside the database
    assert all(trial.state == TrialState.COMPLETE for trial in study.trials)
    jobs = [sorted(int(p.name) for p in sweep.iterdir() if p.is_dir()) for sweep in sweeps]
    assert all(jobs) and sorted(jobs[0] + jobs[1]) == [trial.number for trial in study.trials]  # both contributed
    assert len({tuple(sorted(trial.params.items())) for trial in study.trials}) == len(study.trials)  # no repeats
