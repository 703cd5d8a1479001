"""k-fold cross-validation of one run (`data.folds=k`): train once per fold, each fold in `fold_<i>/` of the run
directory, then summarize. summary.json holds every fold's result and, in `fold_metrics`, each metric's per-fold
values with their mean and std; the monitored metric's mean is what the run returns, so in a sweep each point's
metric is its k-fold mean. The folds train quietly (no bar, model summary or table each): the terminal shows one
table at the end, every fold and the mean +- std."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from levers.io import write_json_atomic
from levers.terminal import print_kfold_table

log = logging.getLogger(__name__)
FOLD_KEYS = ("best_value", "best_epoch", "epochs_run", "wall_time_s", "test", "best_checkpoint", "output_dir")


def cross_validate(k: int, out: Path, train_fold: Callable[[int, Path], object], show_table: bool) -> float:
    """Run `train_fold(i, <out>/fold_<i>)` for each of the k folds (it writes that folder's summary.json, quietly);
    the run's summary.json is rewritten after every fold and on failure; one table of every fold at the end."""
    folds: list[dict[str, Any]] = []
    try:
        for fold in range(k):
            log.info("cross-validation: fold %d of %d", fold + 1, k)
            train_fold(fold, out / f"fold_{fold}")
            folds.append(json.loads((out / f"fold_{fold}" / "summary.json").read_text()))
            write_json_atomic(out / "summary.json", summarize(folds, k, out, "running"))
    except BaseException as error:
        failed = summarize(folds, k, out, _status_of(error)) | {"error": f"{type(error).__name__}: {error}"}
        write_json_atomic(out / "summary.json", failed)
        raise
    summary = summarize(folds, k, out, "completed")
    write_json_atomic(out / "summary.json", summary)
    cv = summary["cv"]
    log.info("cross-validation %s over %d folds: mean %.4f, std %.4f", summary["monitor"], k, cv["mean"], cv["std"])
    if show_table:
        print_kfold_table(summary)
    return cv["mean"]


def summarize(folds: list[dict[str, Any]], k: int, out: Path, status: str) -> dict[str, Any]:
    """Fold 0's header (data, task, overrides...), the folds, and mean/std (population std, as scikit-learn's)."""
    values = [f["best_value"] if f.get("best_value") is not None else math.nan for f in folds]
    mean, std = (float(np.mean(values)), float(np.std(values))) if values else (math.nan, math.nan)
    tests = [f.get("test") or {} for f in folds]
    keys = sorted(set().union(*tests)) if tests else []
    header = {key: value for key, value in (folds[0] if folds else {}).items() if key not in (*FOLD_KEYS, "status")}
    return {
        **header,
        "status": status,
        "output_dir": str(out),
        "best_value": mean,
        "best_epoch": None,
        "epochs_run": sum(f.get("epochs_run", 0) for f in folds),
        "wall_time_s": round(sum(f.get("wall_time_s", 0.0) for f in folds), 3),
        "cv": {"k": k, "folds_done": len(folds), "mean": mean, "std": std, "values": values},
        "test": {key: float(np.mean([t[key] for t in tests if key in t])) for key in keys},
        "test_std": {key: float(np.std([t[key] for t in tests if key in t])) for key in keys},
        "folds": [{"fold": i, **{key: f.get(key) for key in FOLD_KEYS}} for i, f in enumerate(folds)],
        "fold_metrics": fold_metrics(folds),
    }


def fold_metrics(folds: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each metric's value in every fold (null where a fold lacks it) and their mean and std: the best monitored
    value under `best <monitor>`, then the test metrics."""
    if not folds:
        return {}
    per_fold: dict[str, list[float | None]] = {f"best {folds[0].get('monitor')}": [f.get("best_value") for f in folds]}
    tests = [f.get("test") or {} for f in folds]
    for key in sorted(set().union(*tests)):
        per_fold[key] = [t.get(key) for t in tests]
    result: dict[str, dict[str, Any]] = {}
    for key, values in per_fold.items():
        present = [v for v in values if v is not None]
        mean, std = (float(np.mean(present)), float(np.std(present))) if present else (math.nan, math.nan)
        result[key] = {"folds": values, "mean": mean, "std": std}
    return result


def _status_of(error: BaseException) -> str:
    """What the k-fold summary says of a fold that stopped: as a single run's summary.json would."""
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    if isinstance(error, KeyboardInterrupt | SIGTERMException):
        return "interrupted"
    return getattr(error, "status", "failed")  # e.g. "diverged" from a LeversRunFailed
