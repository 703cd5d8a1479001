"""The Hydra callback behind every levers sweep (conf/hydra/default.yaml switches it on).

- on_job_start (in the job's process): with parallel jobs (joblib), give the job cores // n_jobs torch threads
  (levers.sweeps.threads), so two parallel jobs on two cores do not fight over threads, and log the count and the
  job's process in its train.log.
- on_job_end: a job that raised is recorded in its summary.json (status failed, or pruned for an Optuna
  TrialPruned), also when it failed before training wrote anything (e.g. a bad combination of levers).
- on_multirun_end: the report (leaderboard, HTML, PNGs); the best job printed; exit code 1 if any job failed.

Imports stay light: Hydra builds this callback in every process, before anything trains.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from levers.exit_codes import mark_composed
from levers.io import write_json_atomic

log = logging.getLogger(__name__)


class SweepCallback(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        mark_composed()  # the sweep's own failures (a failed job: exit 1) are no config errors from here on

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        launcher = config.hydra.launcher
        if str(launcher.get("_target_", "")).endswith("JoblibLauncher"):
            from levers.sweeps.threads import limit_torch_threads

            threads = limit_torch_threads(launcher.get("n_jobs", -1))
            log.info("parallel jobs: %d torch thread(s) for this job (process %d)", threads, os.getpid())

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if job_return.status == JobStatus.FAILED:
            record_failure(config, job_return._return_value)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from levers.sweeps.report import build_report

        report = build_report(config.hydra.sweep.dir)
        print(report.summary_text(), flush=True)  # not logged: the last job's log file handler is still attached
        if report.failed:
            raise SystemExit(1)  # BaseException: Hydra turns a callback's Exception into a warning


def record_failure(config: DictConfig, error: BaseException) -> None:
    """Mark summary.json failed (or pruned) with the error, writing a minimal one if the job never wrote its own."""
    path = Path(config.hydra.runtime.output_dir) / "summary.json"
    summary = json.loads(path.read_text()) if path.exists() else _minimal_summary(config)
    pruned = type(error).__name__ == "TrialPruned"
    summary["status"] = "pruned" if pruned else "failed"
    summary["error"] = f"{type(error).__name__}: {error}"
    write_json_atomic(path, summary)
    (log.info if pruned else log.error)("job %s: %s", summary["status"], summary["error"])


def _minimal_summary(config: DictConfig) -> dict[str, Any]:
    return {
        "data": OmegaConf.select(config, "data.name"),
        "seed": OmegaConf.select(config, "seed"),
        "overrides": list(config.hydra.overrides.task),
        "output_dir": str(config.hydra.runtime.output_dir),
        "monitor": OmegaConf.select(config, "monitor"),
        "monitor_mode": OmegaConf.select(config, "monitor_mode"),
        "best_value": None,
        "best_epoch": None,
        "epochs_run": 0,
    }
