"""Multi-process runs under Hydra: one run directory, written by rank 0 only.

Three ways processes start, each handled so that every rank agrees on the run directory:

* `trainer=ddp` / `ddp_cpu` on one machine: Lightning re-runs this command for ranks > 0 with
  `hydra.run.dir=<rank 0's resolved directory> hydra.output_subdir=null` (its Hydra support), so rank 0 owns
  `.hydra/` and `summary.json`; the other ranks only add `train_ddp_process_<n>.log`.
* SLURM (`srun`, one task per GPU, multi-node): every task runs the command itself, so there is no rank 0
  to copy the directory from. The run directory is derived from the job instead (`outputs/runs/slurm-<job>.<step>`),
  the same on every node; `LEVERS_RUN_DIR` overrides it (torchrun: set it yourself).
* A multirun (`-m`) cannot use a re-running strategy: the re-run would repeat the whole sweep. Refused up front.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from levers.errors import LeversConfigError

RUN_DIR_ENV = "LEVERS_RUN_DIR"
RERUNNING_STRATEGIES = ("ddp", "ddp_find_unused_parameters_true")


def external_rank() -> int:
    """The global rank a cluster launcher (SLURM, torchrun) gave this process; 0 when none did."""
    for variable in ("RANK", "SLURM_PROCID"):
        if variable in os.environ:
            return int(os.environ[variable])
    return 0


def launcher_run_dir() -> str | None:
    """A run directory every task of one SLURM job step agrees on, without talking to each other."""
    if RUN_DIR_ENV in os.environ:
        return os.environ[RUN_DIR_ENV]
    if int(os.environ.get("SLURM_NTASKS", "1")) > 1 and "SLURM_JOB_ID" in os.environ:
        return f"outputs/runs/slurm-{os.environ['SLURM_JOB_ID']}.{os.environ.get('SLURM_STEP_ID', '0')}"
    return None


def launch_overrides(argv: list[str]) -> list[str]:
    """Hydra overrides to add before composing, for processes a cluster launcher started."""
    if any(arg.startswith("hydra.run.dir=") for arg in argv):  # Lightning's re-run already says where
        return []
    overrides = []
    run_dir = launcher_run_dir()
    if run_dir is not None:
        overrides.append(f"hydra.run.dir={run_dir}")
    rank = external_rank()
    if rank > 0:
        overrides += ["hydra.output_subdir=null", f"hydra.job.name=train_rank{rank}"]
    return overrides


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def check_launch(trainer: Mapping[str, Any], multirun: bool | None = None) -> None:
    """Refuse a launch (the `trainer` settings) that would go wrong only after it started."""
    multirun = in_multirun() if multirun is None else multirun
    strategy = trainer.get("strategy")
    devices = trainer.get("devices")
    several = devices not in (1, "1", [0]) or trainer.get("num_nodes", 1) > 1
    if multirun and strategy in RERUNNING_STRATEGIES and several and external_rank() == 0:
        raise LeversConfigError(
            "trainer.strategy",
            strategy,
            "a single run (no -m): DDP re-runs the command per process, which would repeat the sweep; "
            "sweep with trainer.devices=1, or launch each job with SLURM (hydra/launcher=submitit_slurm)",
        )
