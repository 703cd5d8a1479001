"""A sweep that repeats a configuration over seeds (`seed=1,2,3`) or folds (`data.fold=0,1,2`): one row per
configuration with the mean +- std of its repeats, so a difference smaller than the seed noise reads as such."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from levers.sweeps.jobs import COMPLETED, Job
from levers.sweeps.leaderboard import Leaderboard

REPEAT_KEYS = ("seed", "data.fold")  # levers that repeat a configuration rather than change it


@dataclass(frozen=True)
class ConfigResult:
    params: dict[str, str]  # the swept levers other than the repeat keys
    jobs: list[Job]
    values: list[float]  # one per completed repeat (a k-fold job alone: its folds' values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else math.nan

    @property
    def std(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else math.nan


def config_keys(board: Leaderboard) -> list[str]:
    """The swept levers that define a configuration: every swept key but the repeat ones."""
    return [key for key in board.swept_keys if key not in REPEAT_KEYS]


def group_repeats(board: Leaderboard) -> list[ConfigResult]:
    """Configurations best mean first; empty unless some configuration ran more than once (over a repeat key) or a
    job cross-validated (its folds are its repeats)."""
    keys = config_keys(board)
    groups: dict[tuple[str, ...], list[Job]] = {}
    for job in board.jobs:
        groups.setdefault(tuple(job.params.get(key, "") for key in keys), []).append(job)
    repeated = any(len(jobs) > 1 for jobs in groups.values())
    kfold = any((job.summary.get("cv") or {}).get("values") for job in board.jobs)
    if not (repeated and any(key in board.swept_keys for key in REPEAT_KEYS)) and not kfold:
        return []
    results = []
    for values_of, jobs in groups.items():
        done = [job for job in jobs if job.status == COMPLETED and math.isfinite(job.value)]
        folds = (done[0].summary.get("cv") or {}).get("values") if len(done) == 1 else None
        values = [float(v) for v in folds if isinstance(v, int | float)] if folds else [job.value for job in done]
        results.append(ConfigResult(dict(zip(keys, values_of, strict=True)), jobs, values))
    sign = 1.0 if board.mode == "min" else -1.0
    return sorted(results, key=lambda r: (not r.values, sign * r.mean if r.values else 0.0))
