"""Multi-process runs under Hydra: one run directory, written by rank 0 only.

Three ways processes start, each handled so that every rank agrees on the run directory:

* `trainer=ddp` / `ddp_cpu` on one machine: Lightning re-runs this command for ranks > 0 with
  `hydra.run.dir=<rank 0's resolved directory> hydra.output_subdir=null` (its Hydra support), so rank 0 owns
  `.hydra/` and `summary.json`; the other ranks only add `train_ddp_process_<n>.log`.
* SLURM (`srun`, one task per GPU, multi-node): every task runs the command itself, so there is no rank 0
  to copy the directory from. The run directory is derived from the job instead (`outputs/runs/slurm-<job>.<step>`),
  the same on every node; `LEVERS_RUN_DIR` overrides it (torchrun: set it yourself).
* A multirun (`-m`) job cannot let Lightning re-run the command (the re-run would repeat the whole sweep), so the
  job starts its own ranks instead (`spawn_job_ranks`): fresh processes that receive the job's composed config and
  Hydra's state and set the variables torchrun would (LOCAL_RANK, WORLD_SIZE, MASTER_ADDR/PORT). Lightning then
  sees an external launcher and starts nothing itself; every rank writes into the job's own run directory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from levers.errors import LeversConfigError, LeversRunFailed

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


def launched_externally() -> bool:
    """Whether a launcher (torchrun, SLURM, Lightning's re-run, a multirun job's own spawn) started this process."""
    return "LOCAL_RANK" in os.environ or "RANK" in os.environ or int(os.environ.get("SLURM_NTASKS", "1")) > 1


def processes_per_node(trainer: Mapping[str, Any]) -> int:
    """How many processes `trainer.devices` asks for on this machine (-1 / "auto": every visible GPU)."""
    devices = trainer.get("devices")
    if isinstance(devices, str) and devices.strip().lstrip("-").isdigit():
        devices = int(devices)
    if isinstance(devices, int) and devices >= 0:
        return devices
    if isinstance(devices, str) and "," in devices:
        return len([d for d in devices.split(",") if d.strip()])
    if not isinstance(devices, (int, str)):  # a list of device ids
        return len(list(devices))
    if trainer.get("accelerator") == "cpu":
        return 1
    import torch

    return max(torch.cuda.device_count(), 1)


def spawns_job_ranks(trainer: Mapping[str, Any], multirun: bool | None = None) -> bool:
    """A multirun job asking for a one-machine DDP run: it starts its own ranks (Lightning must not re-run -m)."""
    multirun = in_multirun() if multirun is None else multirun
    return (
        multirun
        and trainer.get("strategy") in RERUNNING_STRATEGIES
        and trainer.get("num_nodes", 1) == 1
        and processes_per_node(trainer) > 1
        and not launched_externally()
    )


def check_launch(trainer: Mapping[str, Any], multirun: bool | None = None) -> None:
    """Refuse a launch (the `trainer` settings) that would go wrong only after it started."""
    multirun = in_multirun() if multirun is None else multirun
    if multirun and trainer.get("num_nodes", 1) > 1 and not launched_externally():
        raise LeversConfigError(
            "trainer.num_nodes",
            trainer.get("num_nodes"),
            "1 in a sweep started by hand: the other machines' processes have no launcher; run each job "
            "across machines with SLURM (hydra/launcher=slurm with its tasks_per_node and nodes)",
        )


def spawn_job_ranks(train: Callable[[Any], float], cfg: Any, trainer: Mapping[str, Any]) -> float:
    """Run `train(cfg)` as one DDP run of `processes_per_node` fresh processes on this machine; rank 0's result.

    Spawned (not forked): a forked child would inherit the sweep's threads and CUDA state. A levers error in any
    rank ends the others (torch's process context terminates them) and is raised here as the same error, so the
    sweep records the job as failed or diverged like any other.
    """
    import torch.multiprocessing as mp
    from omegaconf import OmegaConf
    from torch.multiprocessing.spawn import ProcessException

    world = processes_per_node(trainer)
    context = mp.get_context("spawn")
    results = context.SimpleQueue()
    # the job's hydra node (run dir, job name, logging) as plain data: a plugin's config class need not pickle
    hydra_config = OmegaConf.to_container(HydraConfig.instance().cfg.hydra, resolve=False)
    port = free_port()
    try:
        with standard_start_method():
            mp.start_processes(
                _run_rank, args=(world, port, train, cfg, hydra_config, results), nprocs=world, start_method="spawn"
            )
    except ProcessException as crash:
        while not results.empty():
            kind, payload = results.get()
            if kind == "error":
                raise payload from None
        logging.getLogger(__name__).error("a DDP rank of this job crashed:%s", crash)
        raise LeversRunFailed("a DDP rank of this job crashed (its traceback is in train.log)") from None
    while not results.empty():
        kind, payload = results.get()
        if kind == "result":
            return payload
    raise LeversRunFailed("the DDP ranks of this job finished without rank 0's result")


@contextmanager
def standard_start_method() -> Iterator[None]:
    """A spawned child re-applies its parent's default start method; a joblib (loky) worker's own one does not
    exist in the child, so "spawn" stands in while the ranks start."""
    import multiprocessing

    method = multiprocessing.get_start_method(allow_none=True)
    if method in (None, "spawn", "fork", "forkserver"):
        yield
        return
    multiprocessing.set_start_method("spawn", force=True)
    try:
        yield
    finally:
        multiprocessing.set_start_method(method, force=True)


def _run_rank(
    local_rank: int, world: int, port: int, train: Callable[[Any], float], cfg: Any, hydra_config: Any, results: Any
) -> None:
    """One rank of a multirun job's DDP run: Hydra's state as in the job, torchrun's variables, then train."""
    from hydra.conf import HydraConf
    from hydra.core.utils import configure_log, setup_globals
    from omegaconf import OmegaConf

    import levers.config  # noqa: F401  (levers' resolvers, for the config's interpolations)
    from levers.logging_setup import quiet_known_noise, route_lightning_logs_through_hydra

    os.environ.update(
        LOCAL_RANK=str(local_rank), RANK=str(local_rank), NODE_RANK="0", WORLD_SIZE=str(world),
        LOCAL_WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
    )  # fmt: skip
    setup_globals()
    hydra_node = OmegaConf.structured(HydraConf)
    OmegaConf.set_struct(hydra_node, False)  # launchers add keys of their own (joblib: hydra.env)
    HydraConfig.instance().set_config(OmegaConf.create({"hydra": OmegaConf.merge(hydra_node, hydra_config)}))
    hydra = HydraConfig.get()
    configure_log(hydra.job_logging, hydra.verbose)
    if local_rank > 0:
        log_beside_rank_zero(local_rank)
    route_lightning_logs_through_hydra()
    quiet_known_noise()
    try:
        value = train(cfg)
    except (LeversConfigError, LeversRunFailed) as error:
        results.put(("error", portable(error)))
        raise
    except Exception as error:
        if type(error).__name__ == "TrialPruned":  # Optuna's verdict, the same on every rank: the sweep records it
            results.put(("error", error))
        raise
    if local_rank == 0:
        results.put(("result", value))


def log_beside_rank_zero(local_rank: int) -> None:
    """Rank 0 owns the console and train.log; rank n logs to train_ddp_process_<n>.log beside it, as the ranks of
    Lightning's own re-run do."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if isinstance(handler, logging.FileHandler):
            own = Path(handler.baseFilename)
            rank_file = logging.FileHandler(own.with_name(f"{own.stem}_ddp_process_{local_rank}{own.suffix}"))
            rank_file.setFormatter(handler.formatter)
            rank_file.setLevel(handler.level)
            root.addHandler(rank_file)
        handler.close()


def portable(error: LeversConfigError | LeversRunFailed) -> Exception:
    """The error as one that pickles: a failure subclass's own constructor arguments are not kept on it."""
    if isinstance(error, LeversConfigError):
        return error
    failure = LeversRunFailed(str(error))
    failure.status, failure.exit_code = error.status, error.exit_code
    return failure


def free_port() -> int:
    """A TCP port nobody listens on now, for this job's rendezvous (jobs of one sweep may run side by side)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
