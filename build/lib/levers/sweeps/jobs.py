"""Read a sweep directory back: one `Job` per job directory, from its summary.json and metrics.csv."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FAILED, PRUNED, COMPLETED = "failed", "pruned", "completed"
SUCCEEDED = (COMPLETED, PRUNED)  # a pruned trial did what the study asked; every other status is a failed job


def is_failure(status: str) -> bool:
    """failed, diverged, interrupted, a diagnostic's verdict (overfit_failed...), or killed: the job did not finish
    its work. Read from each job's summary.json, the one record that says how a job ended: a diverged job returns
    NaN to Hydra (so the sweep goes on), which Hydra alone would count as completed."""
    return status not in SUCCEEDED


@dataclass
class Job:
    name: str
    path: Path
    summary: dict[str, Any]
    params: dict[str, str]  # override key -> value, in command-line order
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # val metric -> (epoch, value)

    @property
    def status(self) -> str:
        return str(self.summary.get("status", FAILED))

    @property
    def value(self) -> float:
        """The job's score: the monitored metric's best value (the k-fold mean under cross-validation)."""
        value = self.summary.get("best_value")
        return float(value) if isinstance(value, int | float) else math.nan

    @property
    def error(self) -> str:
        return str(self.summary.get("error", ""))

    @property
    def command(self) -> str:
        from shlex import quote

        return " ".join(["python train.py", *(quote(override) for override in self.summary.get("overrides", []))])


def load_jobs(sweep_dir: str | Path) -> list[Job]:
    """Every job directory of the sweep (a subfolder holding `.hydra/` or `summary.json`), in job-number order."""
    root = Path(sweep_dir)
    dirs = [p for p in root.iterdir() if p.is_dir() and ((p / ".hydra").is_dir() or (p / "summary.json").exists())]
    return [_load_job(path) for path in sorted(dirs, key=_job_order)]


def _job_order(path: Path) -> tuple[int, str]:
    return (int(path.name), "") if path.name.isdigit() else (1 << 30, path.name)


def _load_job(path: Path) -> Job:
    summary_file = path / "summary.json"
    if summary_file.exists():
        summary = json.loads(summary_file.read_text())
    else:  # killed before it wrote anything (or still running)
        summary = {"status": FAILED, "error": "no summary.json", "overrides": _hydra_overrides(path)}
    if summary.get("status") == "running":  # a job ends completed/failed/...: "running" means it was killed
        epochs = summary.get("epochs_run", 0)
        summary |= {"status": FAILED, "error": f"killed: no final status (stopped after {epochs} epochs)"}
    overrides = summary.get("overrides") or _hydra_overrides(path)
    summary.setdefault("overrides", overrides)
    return Job(path.name, path, summary, parse_overrides(overrides), read_curves(path))


def _hydra_overrides(path: Path) -> list[str]:
    file = path / ".hydra" / "overrides.yaml"
    return list(yaml.safe_load(file.read_text()) or []) if file.exists() else []


def parse_overrides(overrides: list[str]) -> dict[str, str]:
    """`optimizer=adam` -> {"optimizer": "adam"}; `+x=1` and `++x=1` -> {"x": "1"}."""
    params: dict[str, str] = {}
    for override in overrides:
        key, _, value = override.partition("=")
        params[key.lstrip("+~")] = value
    return params


def read_curves(path: Path) -> dict[str, list[tuple[int, float]]]:
    """Per-epoch validation curves from Lightning's metrics.csv; k-fold runs average their folds' curves."""
    files = [path / "metrics.csv"] if (path / "metrics.csv").exists() else sorted(path.glob("fold_*/metrics.csv"))
    per_file = [_val_curves(file) for file in files]
    curves: dict[str, list[tuple[int, float]]] = {}
    for name in sorted({name for curves_of in per_file for name in curves_of}):
        by_epoch: dict[int, list[float]] = {}
        for curves_of in per_file:
            for epoch, value in curves_of.get(name, []):
                by_epoch.setdefault(epoch, []).append(value)
        curves[name] = [(epoch, sum(values) / len(values)) for epoch, values in sorted(by_epoch.items())]
    return curves


def _val_curves(file: Path) -> dict[str, list[tuple[int, float]]]:
    curves: dict[str, list[tuple[int, float]]] = {}
    with file.open(newline="") as handle:
        for row in csv.DictReader(handle):  # train and val rows are separate lines; keep the val ones
            for name, text in row.items():
                if name and name.startswith("val/") and text not in ("", None):
                    curves.setdefault(name, []).append((int(float(row["epoch"])), float(text)))
    return curves
