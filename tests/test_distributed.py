"""Every process of a multi-process run agrees on one run directory; launches that would misbehave are refused."""

from __future__ import annotations

import pytest

from levers.distributed import check_launch, launch_overrides
from levers.errors import LeversConfigError

LAUNCHER_VARIABLES = ("RANK", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_JOB_ID", "SLURM_STEP_ID", "LEVERS_RUN_DIR")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for variable in LAUNCHER_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def test_a_plain_run_adds_no_overrides():
    assert launch_overrides(["optimizer=sgd"]) == []


def test_slurm_tasks_share_the_jobs_run_directory_and_only_rank_0_writes_hydra_files(monkeypatch):
    monkeypatch.setenv("SLURM_NTASKS", "8")
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_PROCID", "0")
    assert launch_overrides([]) == ["hydra.run.dir=outputs/runs/slurm-4242.0"]
    monkeypatch.setenv("SLURM_PROCID", "5")
    assert launch_overrides([]) == [
        "hydra.run.dir=outputs/runs/slurm-4242.0",
        "hydra.output_subdir=null",
        "hydra.job.name=train_rank5",
    ]


def test_levers_run_dir_wins_and_lightnings_relaunch_is_left_alone(monkeypatch):
    monkeypatch.setenv("LEVERS_RUN_DIR", "runs/mine")
    monkeypatch.setenv("RANK", "1")  # torchrun
    assert launch_overrides([])[0] == "hydra.run.dir=runs/mine"
    assert launch_overrides(['hydra.run.dir="outputs/runs/x"', "hydra.output_subdir=null"]) == []


def test_ddp_inside_a_multirun_is_refused_before_training(make_cfg):
    cfg = make_cfg("trainer=ddp_cpu")
    with pytest.raises(LeversConfigError, match=r"trainer.strategy='ddp'.*a single run \(no -m\)"):
        check_launch(cfg.trainer, multirun=True)
    check_launch(cfg.trainer, multirun=False)
    check_launch(make_cfg("trainer=cpu").trainer, multirun=True)
