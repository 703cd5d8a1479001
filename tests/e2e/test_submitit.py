"""The Slurm launcher's path without a cluster: hydra-submitit-launcher's `submitit_local` runs the same launcher
class (submitit pickles each job, runs it in a process of its own, unpickles its result) with the local executor
instead of sbatch, so a sweep through it proves levers' jobs survive submitit's round trip."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import FAST, ROOT

pytestmark = pytest.mark.slow


def test_a_sweep_through_submitits_local_executor_runs_each_job_in_its_own_process_and_reports(tmp_path):
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=10",  # the resource keys levers' slurm.yaml sets, taken by the local executor
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.tasks_per_node=1",
        *FAST,
        "data.limit=300",
        "trainer.max_epochs=2",
        "optimizer=adam,sgd",
        f"hydra.sweep.dir={sweep}",
    ]
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output.decode()[-4000:]
    for job in ("0", "1"):
        assert json.loads((sweep / job / "summary.json").read_text())["status"] == "completed"
    # submitit's job folders are named by the job's id: under the local executor, the pid of the job's process
    job_ids = {int(p.name) for p in (sweep / ".submitit").iterdir() if p.name.isdigit()}
    assert len(job_ids) == 2 and process.pid not in job_ids
    for job_id in job_ids:
        assert (sweep / ".submitit" / str(job_id) / f"{job_id}_0_result.pkl").exists()
    assert (sweep / "report.html").exists() and "best: job" in output.decode()
