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
    def constant_params(self) -> dict[str, str]:
        """Overrides every job shares (e.g. `hparams_search=optuna`): said once above the table, not as a column."""
        return {key: self.jobs[0].params.get(key, "") for key in self.param_keys if key not in self.swept_keys}

    @property
    def test_keys(self) -> list[str]:
        return sorted({key for job in self.jobs for key in job.summary.get("test") or {}})

    def header(self, compact: bool = False) -> list[str]:
        """Every column (the CSV); `compact` (terminal, Markdown, HTML) leaves out the overrides all jobs share."""
        params = self.swept_keys if compact else self.param_keys
        return ["rank", "job", "status", self.monitor, f"{self.monitor} std", "best_epoch", *self.test_keys,
                *params, "wall_time_s", "error"]  # fmt: skip

    def rows(self, compact: bool = False) -> list[list[str]]:
        """The CSV keeps 6 digits and the overrides as typed; `compact` rounds every number to 4 significant digits."""
        tests, rows = self.test_keys, []
        digits = 4 if compact else 6
        params = self.swept_keys if compact else self.param_keys
        for rank, job in enumerate(self.jobs, start=1):
            cv = job.summary.get("cv") or {}
            num = lambda value: _num(value, digits)  # noqa: E731
            rows.append([
                str(rank), job.name, job.status, num(job.value), num(cv.get("std")),
                str(job.summary.get("best_epoch") if job.summary.get("best_epoch") is not None else ""),
                *(num((job.summary.get("test") or {}).get(key)) for key in tests),
                *(short_value(job.params.get(key, "")) if compact else job.params.get(key, "") for key in params),
                num(job.summary.get("wall_time_s")), _one_line(job.error),
            ])  # fmt: skip
        return rows


def readable_table(board: Leaderboard) -> tuple[list[str], list[list[str]]]:
    """The compact header and rows less the columns empty in every row (no std without k-fold, no error column when
    nothing failed); rank, job, status and the metric always stay."""
    header, rows = board.header(compact=True), board.rows(compact=True)
    keep = [i for i in range(len(header)) if i < 4 or any(row[i] for row in rows)]
    return [header[i] for i in keep], [[row[i] for i in keep] for row in rows]


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
    from levers.io import atomic_write

    with atomic_write(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(board.header())
        writer.writerows(board.rows())


def to_markdown(board: Leaderboard) -> str:
    escape = str.maketrans({"|": "\\|"})
    header, rows = readable_table(board)
    lines = [_constants_line(board), "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines = lines if board.constant_params else lines[2:]
    for row in rows:
        cells = [f"**{cell}**" if i == 2 and is_failure(cell) else cell.translate(escape) for i, cell in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_text(board: Leaderboard, max_error: int = 60) -> str:
    """A fixed-width table for the terminal (the error column cut short; the CSV has it whole)."""
    header, rows = readable_table(board)
    if header[-1] == "error":
        rows = [[*row[:-1], row[-1][:max_error]] for row in rows]
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join([_constants_line(board)] * bool(board.constant_params) + lines)


def _constants_line(board: Leaderboard) -> str:
    return "same in every job: " + ", ".join(f"{key}={value}" for key, value in board.constant_params.items())


def short_value(text: str, digits: int = 4) -> str:
    """An override's value for reading: `0.004884654063709476` -> `0.004885`; integers and words as they are."""
    try:
        number = float(text)
    except ValueError:
        return text
    return text if text.lstrip("-").isdigit() or not math.isfinite(number) else f"{number:.{digits}g}"


def _num(value: object, digits: int = 6) -> str:
    if not isinstance(value, int | float) or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{value:.{digits}g}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
