"""Sweep directories of any size, written the way real jobs write them (summary.json, Lightning's metrics.csv with
train and val rows apart), for the report's tests and bench/sweep_report.py: an Optuna-like search over lr (log),
depth (int), optimizer (word) and width, with one diverged outlier, failed and pruned trials, or a grid repeated
over seeds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np


def write_job(root: Path, name: str, overrides: list[str], curve: list[tuple[float, float]] | None,
              status: str = "completed", **extra) -> Path:  # fmt: skip
    """One job directory; `curve` is (val/loss, val/acc) per epoch, its best loss the job's value."""
    job = root / name
    (job / ".hydra").mkdir(parents=True)
    best = min(range(len(curve)), key=lambda i: curve[i][0]) if curve else None
    value = curve[best][0] if curve and status != "failed" and math.isfinite(curve[best][0]) else None
    summary = {"status": status, "monitor": "val/loss", "monitor_mode": "min", "best_value": value,
               "best_epoch": best, "overrides": overrides, "epochs_run": len(curve or []),
               "test": {"test/acc": curve[best][1]} if value is not None else {}, "wall_time_s": 3.0 + len(name),
               **extra}  # fmt: skip
    (job / "summary.json").write_text(json.dumps(summary))
    if curve:
        rows = ["epoch,step,train/loss,val/acc,val/loss"]
        for epoch, (loss, acc) in enumerate(curve):
            rows += [f"{epoch},{epoch * 10},{loss * 0.9},,", f"{epoch},{epoch * 10},,{acc},{loss}"]
        (job / "metrics.csv").write_text("\n".join(rows) + "\n")
    return job


def optuna_like(root: Path, jobs: int, epochs: int = 12, seed: int = 0) -> Path:
    """`jobs` trials; lr matters most, then optimizer, depth a little, width not at all."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for n in range(jobs):
        lr = float(10 ** rng.uniform(-4, -1))
        depth, width = int(rng.integers(1, 5)), int(rng.choice([32, 64, 128]))
        optimizer = str(rng.choice(["adam", "sgd", "nadam"]))
        overrides = ["hparams_search=optuna", f"optimizer={optimizer}", f"optimizer.lr={lr!r}",
                     f"model.depth={depth}", f"model.width={width}"]  # fmt: skip
        floor = 0.25 + 0.6 * (math.log10(lr) + 2.5) ** 2 / 2.25 + {"adam": 0, "nadam": 0.03, "sgd": 0.2}[optimizer]
        floor += 0.03 * abs(depth - 2) + float(rng.normal(0, 0.02))
        status, length = "completed", epochs
        if n == 3:  # the outlier: diverged to 1e3 and beyond
            curve = [(2.3 * 4**e, 0.1) for e in range(6)]
            write_job(root, str(n), overrides, curve, status="diverged", error="loss is nan at epoch 6")
            continue
        if n % 17 == 5:
            write_job(root, str(n), overrides, None, status="failed", error="LeversConfigError: bad combination")
            continue
        if n % 7 == 6:
            status, length = "pruned", 3
        curve = [(floor + 2.0 * math.exp(-0.5 * e), min(0.99, 0.97 - 0.3 * floor - 0.5 * math.exp(-0.5 * e)))
                 for e in range(length)]  # fmt: skip
        write_job(root, str(n), overrides, curve, status=status)
    return root


def grid_over_seeds(root: Path, seeds: int = 3, epochs: int = 5) -> Path:
    """optimizer x depth, each run with `seeds` seeds."""
    rng = np.random.default_rng(1)
    root.mkdir(parents=True, exist_ok=True)
    n = 0
    for optimizer in ("adam", "sgd"):
        for depth in (1, 2):
            for seed in range(seeds):
                floor = 0.3 + (0.2 if optimizer == "sgd" else 0.0) - 0.05 * depth + float(rng.normal(0, 0.02))
                curve = [(floor + math.exp(-e), 0.9 - floor / 2) for e in range(epochs)]
                write_job(root, str(n), [f"optimizer={optimizer}", f"model.depth={depth}", f"seed={seed}"], curve)
                n += 1
    return root
