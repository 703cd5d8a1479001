"""Every process of a multi-process run agrees on one run directory; launches that would misbehave are refused."""

from __future__ import annotations

import pickle

import pytest

from levers.distributed import check_launch, launch_overrides, portable, processes_per_node, spawns_job_ranks
from levers.errors import LeversConfigError, LeversRunFailed

LAUNCHER_VARIABLES = (
    "LOCAL_RANK",
    "RANK",
    "SLURM_PROCID",
    "SLURM_NTASKS",
    "SLURM_JOB_ID",
    "SLURM_STEP_ID",
    "LEVERS_RUN_DIR",
)


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


def test_a_ddp_job_of_a_multirun_starts_its_own_ranks_and_a_plain_run_leaves_them_to_lightning(make_cfg):
    ddp = make_cfg("trainer=ddp_cpu").trainer
    assert spawns_job_ranks(ddp, multirun=True)
    assert not spawns_job_ranks(ddp, multirun=False)  # Lightning re-runs the command: nothing to repeat
    assert not spawns_job_ranks(make_cfg("trainer=cpu").trainer, multirun=True)
    assert not spawns_job_ranks(make_cfg("trainer=ddp_cpu", "trainer.devices=1").trainer, multirun=True)


def test_a_rank_the_job_already_started_does_not_start_ranks_again(make_cfg, monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert not spawns_job_ranks(make_cfg("trainer=ddp_cpu").trainer, multirun=True)


def test_devices_count_processes_whatever_form_they_take():
    assert processes_per_node({"devices": 2}) == 2
    assert processes_per_node({"devices": "3"}) == 3
    assert processes_per_node({"devices": [0, 2]}) == 2
    assert processes_per_node({"devices": "0,1"}) == 2
    assert processes_per_node({"devices": "auto", "accelerator": "cpu"}) == 1


def test_several_machines_inside_a_hand_started_sweep_are_refused_before_training(make_cfg):
    cfg = make_cfg("trainer=ddp_cpu", "trainer.num_nodes=2")
    with pytest.raises(LeversConfigError, match=r"trainer.num_nodes=2.*hydra/launcher=slurm"):
        check_launch(cfg.trainer, multirun=True)
    check_launch(cfg.trainer, multirun=False)
    check_launch(make_cfg("trainer=ddp_cpu").trainer, multirun=True)


def test_a_ranks_error_crosses_the_process_boundary_with_its_verdict():
    config_error = pickle.loads(pickle.dumps(LeversConfigError("optimizer.lr", -1, "a positive number")))
    assert (config_error.key, config_error.value, str(config_error)) == (
        "optimizer.lr", -1, "optimizer.lr=-1 is not allowed: a positive number",
    )  # fmt: skip

    class Diverged(LeversRunFailed):
        status, exit_code = "diverged", 3

        def __init__(self, step: int) -> None:
            super().__init__(f"loss exploded at step {step}")

    failure = pickle.loads(pickle.dumps(portable(Diverged(7))))
    assert (failure.status, failure.exit_code, str(failure)) == ("diverged", 3, "loss exploded at step 7")
