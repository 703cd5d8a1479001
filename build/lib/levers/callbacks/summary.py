"""summary.json: the run's outcome in one small file, rewritten atomically as the run goes."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.exceptions import SIGTERMException

from levers.io import write_json_atomic


class RunSummary(pl.Callback):
    """Tracks the monitored metric's best value and epoch; writes summary.json after validation (at most once a
    second: replacing a file costs about a millisecond, a tenth of a small data set's epoch), on failure or
    interrupt (status says which, written at once) and once more with the test metrics at the end."""

    min_running_interval_s = 1.0

    def __init__(self, path: str | Path, monitor: str, mode: str, header: dict[str, Any]) -> None:
        self.path, self.monitor, self.mode, self.header = Path(path), monitor, mode, header
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.epochs_run = 0
        self.started = time.perf_counter()
        self.earlier_wall_time = 0.0  # wall time of the attempts before a resume
        self.restored: dict[str, Any] | None = None
        self.last_running_write = float("-inf")

    def state_dict(self) -> dict[str, Any]:
        """Saved in every checkpoint, so a resumed run keeps the best value, best epoch and elapsed time."""
        return {
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "wall_time_s": self.earlier_wall_time + time.perf_counter() - self.started,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Lightning also restores callback states when it tests a checkpoint; only a resumed fit applies them."""
        self.restored = state_dict

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.restored:
            state, self.restored = self.restored, None
            self.best_value, self.best_epoch = state["best_value"], state["best_epoch"]
            self.epochs_run, self.earlier_wall_time = state["epochs_run"], state["wall_time_s"]

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best_value is None:
            return True
        return value < self.best_value if self.mode == "min" else value > self.best_value

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        self.epochs_run = trainer.current_epoch + 1
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None and self._improved(float(value)):
            self.best_value, self.best_epoch = float(value), trainer.current_epoch
        now = time.monotonic()
        if trainer.is_global_zero and now - self.last_running_write >= self.min_running_interval_s:
            self.last_running_write = now
            self.write("running")

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        """Ctrl+C (KeyboardInterrupt) and SIGTERM (Lightning's SIGTERMException) are interruptions: the run can
        be resumed from checkpoints/last.ckpt; a LeversRunFailed names its own status (e.g. "diverged" from the
        non-finite guard); anything else is a failure."""
        if isinstance(exception, (KeyboardInterrupt, SIGTERMException)):
            status = "interrupted"
        else:
            status = getattr(exception, "status", "failed")
        if trainer.is_global_zero:
            self.write(status, error=f"{type(exception).__name__}: {exception}")

    def write(self, status: str, **extra: Any) -> dict[str, Any]:
        summary = {
            **self.header,
            "status": status,
            "monitor": self.monitor,
            "monitor_mode": self.mode,
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "wall_time_s": round(self.earlier_wall_time + time.perf_counter() - self.started, 3),
            **extra,
        }
        write_json_atomic(self.path, summary, durable=status != "running")  # a final status is synced
        return summary


def as_floats(metrics: dict[str, Any]) -> dict[str, float]:
    return {key: float(value.item() if isinstance(value, torch.Tensor) else value) for key, value in metrics.items()}
