"""metrics.csv, never torn and kept across a resume.

Lightning's CSVLogger deletes an existing metrics.csv when it starts and appends rows through a buffered file (a
kill mid-write leaves a torn line). This one keeps the rows already on disk (a resumed run continues the same file;
run.py trims rows past the resumed checkpoint). New rows with the known columns are appended with one `os.write`
(a killed process cannot leave half of it); new columns rewrite the whole file through a temporary file and a
rename. Appending keeps an epoch's write O(1): rewriting the file every epoch cost milliseconds by epoch 100.
"""

from __future__ import annotations

import csv
import io
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
        self.columns: list[str] = read_header(Path(self.metrics_file_path))  # the header on disk
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
        new, self.metrics = self.metrics, []
        self.rows.extend(new)
        path = Path(self.metrics_file_path)
        if self.columns and set().union(*new) <= set(self.columns) and path.is_file():
            append_rows(path, new, self.columns)
        else:
            self.columns = columns_of(self.rows)
            write_rows_atomic(path, self.rows)


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


def read_header(path: Path) -> list[str]:
    if not path.is_file():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file).fieldnames or [])


def columns_of(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(set().union(*rows)) if rows else []


def write_rows_atomic(path: Path, rows: list[dict[str, Any]]) -> None:
    with atomic_write(path, newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns_of(rows))
        writer.writeheader()
        writer.writerows(rows)


def append_rows(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Rows under the existing header, in one write() call of the whole text."""
    text = io.StringIO()
    csv.DictWriter(text, fieldnames=columns).writerows(rows)
    data = memoryview(text.getvalue().encode())
    handle = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        while data:  # one call in practice; a short write (disk full) is completed or raises
            data = data[os.write(handle, data) :]
    finally:
        os.close(handle)


def trim_rows_from_step(path: Path, global_step: int) -> None:
    """Before resuming from a checkpoint taken at `global_step`: drop the rows the interrupted attempt logged from
    that step on (they will be logged again), keeping everything up to the checkpoint."""
    rows = read_rows(path)
    if rows:
        write_rows_atomic(path, [row for row in rows if int(float(row.get("step", 0))) < global_step])
