"""`levers report <sweep dir>`, also run by the Hydra callback after every multirun: the leaderboard (terminal,
CSV, Markdown) and one self-contained HTML page with PNGs beside it, all written into the sweep directory."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from levers.io import atomic_write
from levers.sweeps.charts import Chart
from levers.sweeps.jobs import is_failure, load_jobs
from levers.sweeps.leaderboard import Leaderboard, rank_jobs, to_markdown, to_text, write_csv

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Report:
    board: Leaderboard
    files: list[Path]
    charts: list[Chart]
    importances: dict[str, float]

    @property
    def failed(self) -> int:
        """Jobs that failed in any way (failed, diverged, interrupted, killed): the sweep's exit code is 1 if any."""
        return sum(is_failure(job.status) for job in self.board.jobs)

    def summary_text(self) -> str:
        """The terminal table, the best job's directory and command line, and where the files are."""
        lines = [to_text(self.board), ""]
        best = self.board.best
        if best is not None:
            lines += [
                f"best: job {best.name}, {self.board.monitor}={best.value:.6g} ({self.board.mode})",
                f"  dir:     {best.path}",
                f"  command: {best.command}",
            ]
        else:
            lines.append("best: none (no job completed)")
        if self.failed:
            lines.append(f"{self.failed} of {len(self.board.jobs)} jobs failed (marked in the leaderboard)")
        lines.append("report: " + ", ".join(str(path) for path in self.files))
        return "\n".join(lines)


def build_report(sweep_dir: str | Path) -> Report:
    from levers.sweeps.charts import draw_charts
    from levers.sweeps.html_page import render_page
    from levers.sweeps.importance import param_importances
    from levers.sweeps.repeats import group_repeats

    root = Path(sweep_dir)
    jobs = load_jobs(root)
    if not jobs:
        raise FileNotFoundError(f"no job directories (with .hydra/ or summary.json) in {root}")
    board = rank_jobs(jobs)
    write_csv(board, root / "leaderboard.csv")
    with atomic_write(root / "leaderboard.md") as handle:  # atomic: workers sharing a sweep dir report together
        handle.write(to_markdown(board))
    importances, why_not = param_importances(board)
    configs = group_repeats(board)
    charts = draw_charts(board, root, importances, configs)
    page = render_page(board, charts, str(root), importances, why_not, configs)
    with atomic_write(root / "report.html") as handle:
        handle.write(page)
    files = [root / "leaderboard.csv", root / "leaderboard.md", root / "report.html", *(c.png for c in charts)]
    return Report(board, files, charts, importances)


def main(argv: list[str] | None = None) -> int:
    """`levers report <sweep dir> [<sweep dir> ...]`: each sweep's report, and with two or more a comparison page.
    Exit 0 when every job completed (or was pruned), 1 if some failed (or diverged...), 2 on a directory without
    jobs: the worst over the directories."""
    parser = argparse.ArgumentParser(prog="levers report", description=__doc__)
    parser.add_argument("sweep_dirs", type=Path, nargs="+", metavar="sweep_dir",
                        help="a multirun directory (outputs/multirun/...); two or more: compared")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None,
                        help="the comparison page (default: comparison.html in the sweeps' common folder)")  # fmt: skip
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    for path in args.sweep_dirs:
        if not path.is_dir():
            parser.error(f"sweep_dir={str(path)!r} is not a directory")
    code, boards = 0, {}
    for path in args.sweep_dirs:
        try:
            report = build_report(path)
        except FileNotFoundError as error:
            print(f"levers report: {error}", file=sys.stderr)
            code = 2
            continue
        print(report.summary_text())
        code = max(code, 1 if report.failed else 0)
        boards[_sweep_name(path, boards)] = report.board
    if len(args.sweep_dirs) > 1 and len(boards) > 1:
        from levers.sweeps.compare import default_output, write_comparison

        out = args.out or default_output(args.sweep_dirs)
        files = write_comparison(boards, out)
        print(f"\ncomparison of {len(boards)} sweeps: " + ", ".join(str(path) for path in files))
    return code


def _sweep_name(path: Path, taken: dict) -> str:
    """The directory's name, with its parent's when two sweeps share a name."""
    name = path.resolve().name
    return name if name not in taken else f"{path.resolve().parent.name}/{name}"
