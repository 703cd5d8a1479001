"""The leaderboard: one row per job, best first by the monitored metric, as a terminal table, CSV and Markdown."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from levers.sweeps.jobs import COMPLETED, FAILED, PRUNED, Job, is_failure

STATUS_ORDER = {COMPLETED: 0, PRUNED: 1, "running": 2, "interrupted": 3, FAILED: 4}


@dataclass(frozen=True)
class Leaderboard:
    jobs: list[Job]  # ranked: completed jobs by metric, then pruned, then the rest; failed last
    monitor: str
    mode: str

    @property
    def best(self) -> Job | None:
        return next((job for job in self.jobs if job.status == COMPLETED and math.isfinite(job.value)), None)

    @property
    def param_keys(self) -> list[str]:
        keys: dict[str, None] = {}
        for job in self.jobs:
            keys.update(dict.fromkeys(job.params))
        return list(keys)

    @property
    def swept_keys(self) -> list[str]:
        """Overrides whose value differs between jobs: the levers this sweep compared."""
        return [key for key in self.param_keys if len({job.params.get(key) for job in self.jobs}) > 1]

    @property
    def test_keys(self) -> list[str]:
        return sorted({key for job in self.jobs for key in job.summary.get("test") or {}})

    def header(self) -> list[str]:
        return ["rank", "job", "status", self.monitor, f"{self.monitor} std", "best_epoch", *self.test_keys,
                *self.param_keys, "wall_time_s", "error"]  # fmt: skip

    def rows(self) -> list[list[str]]:
        tests, rows = self.test_keys, []
        for rank, job in enumerate(self.jobs, start=1):
            cv = job.summary.get("cv") or {}
            rows.append([
                str(rank), job.name, job.status, _num(job.value), _num(cv.get("std")),
                str(job.summary.get("best_epoch") if job.summary.get("best_epoch") is not None else ""),
                *(_num((job.summary.get("test") or {}).get(key)) for key in tests),
                *(job.params.get(key, "") for key in self.param_keys),
                _num(job.summary.get("wall_time_s")), _one_line(job.error),
            ])  # fmt: skip
        return rows


def rank_jobs(jobs: list[Job]) -> Leaderboard:
    """Sort by the monitored metric in its mode (taken from the jobs' summaries); failed jobs at the bottom."""
    monitor = next((job.summary["monitor"] for job in jobs if job.summary.get("monitor")), "value")
    mode = next((job.summary["monitor_mode"] for job in jobs if job.summary.get("monitor_mode")), "min")
    sign = 1.0 if mode == "min" else -1.0

    def key(job: Job) -> tuple[int, float, int]:
        value = sign * job.value if math.isfinite(job.value) else math.inf
        number = int(job.name) if job.name.isdigit() else 1 << 30
        return STATUS_ORDER.get(job.status, 3), value, number

    return Leaderboard(sorted(jobs, key=key), monitor, mode)


def write_csv(board: Leaderboard, path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(board.header())
        writer.writerows(board.rows())


def to_markdown(board: Leaderboard) -> str:
    escape = str.maketrans({"|": "\\|"})
    lines = ["| " + " | ".join(board.header()) + " |", "|" + "---|" * len(board.header())]
    for row in board.rows():
        cells = [f"**{cell}**" if i == 2 and is_failure(cell) else cell.translate(escape) for i, cell in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_text(board: Leaderboard, max_error: int = 60) -> str:
    """A fixed-width table for the terminal (the error column cut short; the CSV has it whole)."""
    header = board.header()
    rows = [[*row[:-1], row[-1][:max_error]] for row in board.rows()]
    keep = [i for i, name in enumerate(header) if any(row[i] for row in rows) or i < 4]  # drop empty columns
    table = [[header[i] for i in keep], *([row[i] for i in keep] for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(keep))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _num(value: object) -> str:
    if not isinstance(value, int | float) or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{value:.6g}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
