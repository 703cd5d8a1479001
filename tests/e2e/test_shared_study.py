"""Sweeps on several machines sharing one Optuna study through a real PostgreSQL server: three `train.py -m
hparams_search=optuna` workers started together spend one budget between them, never repeat a parameter set, prune
through the database, and leave one report in their shared sweep directory.

PostgreSQL comes from Debian's packages (`initdb`, `pg_ctl`; .ci/run installs them), started in a temporary data
directory on 127.0.0.1 and a free port, as the `postgres` user (or `nobody`) when the tests run as root."""

from __future__ import annotations

import csv
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from hydra_plugins.levers_sweepers.optuna_sweeper import open_storage
from tests.e2e.test_cli import finish, launch
from tests.e2e.test_sweeps import optuna_args

pytestmark = pytest.mark.slow


def postgres_binary(name: str) -> str:
    """On PATH, else the newest of Debian's /usr/lib/postgresql/<version>/bin (not on PATH by default)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        pytest.fail(f"{name} not found: apt-get install postgresql (.ci/run does)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_user() -> str | None:
    """PostgreSQL refuses to run as root: then the `postgres` account (Debian's package makes it), else `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name).pw_name
        except KeyError:
            continue
    pytest.fail("running as root with neither a postgres nor a nobody user to run PostgreSQL as")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    initdb = postgres_binary("initdb")
    pg_ctl = str(Path(initdb).resolve().parent / "pg_ctl")
    user = server_user()
    as_user = ["runuser", "-u", user, "--"] if user else []
    root = Path(tempfile.mkdtemp(prefix="levers-pg-"))  # not pytest's tmp dir: its parents are root's, mode 700
    data, port = root / "data", free_port()
    if user:
        record = pwd.getpwnam(user)
        os.chown(root, record.pw_uid, record.pw_gid)

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], cwd=root, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"

    run(initdb, "-D", str(data), "-U", "levers", "--auth=trust", "-E", "UTF8", "--no-sync")
    options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off"
    run(pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start")
    try:
        import psycopg

        # CREATE DATABASE runs outside a transaction
        with psycopg.connect(f"host=127.0.0.1 port={port} user=levers dbname=postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE sweeps")
        yield f"postgresql://levers@127.0.0.1:{port}/sweeps"
    finally:
        run(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


# val/acc never reaches 0.99 on 240 digits: every trial reports epochs 0 and 1, then the pruner (through the
# database, from inside the job) stops it; two epochs a trial keep three workers' six trials quick.
PRUNE_AFTER_TWO_EPOCHS = ["monitor=val/acc", "monitor_mode=max", "trainer.max_epochs=4",
                          "hydra.sweeper.pruner._target_=optuna.pruners.ThresholdPruner",
                          "~hydra.sweeper.pruner.n_startup_trials", "+hydra.sweeper.pruner.lower=0.99",
                          "hydra.sweeper.pruner.n_warmup_steps=1"]  # fmt: skip


def test_three_workers_share_one_postgresql_study_budget_and_report(postgres_url, tmp_path):
    budget, sweep = 6, tmp_path / "sweep"  # one sweep dir for all: one report (a shared filesystem across machines)
    args = optuna_args(postgres_url, sweep, budget, *PRUNE_AFTER_TWO_EPOCHS)
    workers = [launch(args, tmp_path) for _ in range(3)]  # same command, same seed, same second
    results = [finish(worker) for worker in workers]
    assert [code for code, _ in results] == [0, 0, 0], results  # pruned trials are no failures

    study = optuna.load_study(study_name="levers", storage=open_storage(postgres_url))  # its driver on any SQLAlchemy
    trials = study.trials
    assert len(trials) == budget  # the study's total, not each worker's
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert [trial.state for trial in trials] == [TrialState.PRUNED] * budget
    assert all(sorted(trial.intermediate_values) == [0, 1] for trial in trials)  # reported epoch by epoch
    assert len({tuple(sorted(trial.params.items())) for trial in trials}) == budget  # no parameter set twice

    jobs = sorted(int(path.name) for path in sweep.iterdir() if path.is_dir())
    assert jobs == [trial.number for trial in trials]  # every trial's run directory, named by its number
    assert all((sweep / str(job) / "summary.json").exists() for job in jobs)
    rows = list(csv.DictReader((sweep / "leaderboard.csv").open()))  # one report, written by whoever ended last
    assert sorted(int(row["job"]) for row in rows) == jobs and {row["status"] for row in rows} == {"pruned"}
    assert (sweep / "report.html").exists()
    assert not list(sweep.glob(".*.tmp"))  # atomic writes left no temporaries
