"""metrics.csv, rewritten atomically and kept across a resume.

Lightning's CSVLogger deletes an existing metrics.csv when it starts and appends rows in place (a kill mid-write
leaves a torn line). This one keeps the rows already on disk (a resumed run continues the same file; run.py trims
rows past the resumed checkpoint) and rewrites the whole, small file through a temporary file and a rename.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.core.saving import save_hparams_to_yaml
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.loggers.logger import rank_zero_experiment

from levers.io import atomic_write


class AtomicMetricsWriter:
    """Drop-in for Lightning's CSV experiment writer (log_metrics / save / log_hparams / metrics_file_path)."""

    NAME_METRICS_FILE = "metrics.csv"

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir
        self.metrics_file_path = os.path.join(log_dir, self.NAME_METRICS_FILE)
        self.rows: list[dict[str, Any]] = read_rows(Path(self.metrics_file_path))
        self.metrics: list[dict[str, Any]] = []  # rows not yet written
        self.hparams: dict[str, Any] = {}
        Path(log_dir).mkdir(parents=True, exist_ok=True)

    def log_metrics(self, metrics_dict: dict[str, Any], step: int | None = None) -> None:
        row = {k: v.item() if isinstance(v, torch.Tensor) else v for k, v in metrics_dict.items()}
        row["step"] = len(self.rows) + len(self.metrics) if step is None else step
        self.metrics.append(row)

    def log_hparams(self, params: dict[str, Any]) -> None:
        """hparams.yaml beside metrics.csv, as Lightning's writer does."""
        self.hparams.update(params)
        save_hparams_to_yaml(os.path.join(self.log_dir, "hparams.yaml"), self.hparams)

    def save(self) -> None:
        if not self.metrics:
            return
        self.rows.extend(self.metrics)
        self.metrics = []
        write_rows_atomic(Path(self.metrics_file_path), self.rows)


class AtomicCSVLogger(CSVLogger):
    """Lightning's CSVLogger (same arguments, hparams.yaml) with the atomic, resumable writer."""

    @property
    @rank_zero_experiment
    def experiment(self) -> AtomicMetricsWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = AtomicMetricsWriter(log_dir=self.log_dir)
        return self._experiment


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with path.open(newline="") as file:
        return [{k: v for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(file)]


def write_rows_atomic(path: Path, rows: list[dict[str, Any]]) -> None:
    keys = sorted(set().union(*rows))
    with atomic_write(path, newline="") as file:
        writer = csv.DictWriter(file, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def trim_rows_from_step(path: Path, global_step: int) -> None:
    """Before resuming from a checkpoint taken at `global_step`: drop the rows the interrupted attempt logged from
    that step on (they will be logged again), keeping everything up to the checkpoint."""
    rows = read_rows(path)
    if rows:
        write_rows_atomic(path, [row for row in rows if int(float(row.get("step", 0))) < global_step])
