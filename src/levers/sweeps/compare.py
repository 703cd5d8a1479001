"""`levers report dirA dirB ...`: several sweeps on one page (say a grid and an Optuna search over the same data):
a table of each sweep's best, every job's metric side by side, the best so far by job count, each sweep's best job's
curves, and the top jobs of all sweeps together. Self-contained like the single-sweep page."""

from __future__ import annotations

import math
import statistics
from html import escape
from pathlib import Path

import numpy as np

from levers.sweeps.charts import Chart, curve_metrics, mark_off_scale, off_scale_handle, save_chart
from levers.sweeps.html_page import STYLE, figures_html
from levers.sweeps.jobs import COMPLETED, is_failure
from levers.sweeps.leaderboard import Leaderboard, short_value
from levers.sweeps.robust import robust_limits

TOP = 10


def default_output(sweep_dirs: list[Path]) -> Path:
    """comparison.html in the sweeps' common folder (outputs/multirun/ for sweeps of one project)."""
    import os

    return Path(os.path.commonpath([str(path.resolve()) for path in sweep_dirs])) / "comparison.html"


def write_comparison(boards: dict[str, Leaderboard], out: Path) -> list[Path]:
    """The page and its PNGs (named comparison_*.png beside it); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    out.parent.mkdir(parents=True, exist_ok=True)
    monitors = {(board.monitor, board.mode) for board in boards.values()}
    charts: list[Chart] = []
    if len(monitors) == 1:
        charts = [_values(boards, out.parent), _history(boards, out.parent)]
        curves = _best_curves(boards, out.parent)
        charts += [curves] if curves else []
    out.write_text(_page(boards, charts, len(monitors) == 1))
    return [out, *(chart.png for chart in charts)]


def _colors(boards: dict[str, Leaderboard]) -> dict[str, tuple]:
    import matplotlib.pyplot as plt

    palette = plt.get_cmap("tab10").colors
    return {name: palette[i % len(palette)] for i, name in enumerate(boards)}


def _values(boards: dict[str, Leaderboard], out_dir: Path) -> Chart:
    """Every job's metric, one row per sweep (jittered points over a box): where each sweep's jobs landed."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    board0 = next(iter(boards.values()))
    colors, rng = _colors(boards), np.random.default_rng(0)
    every = [job.value for board in boards.values() for job in board.jobs]
    bests = [board.best.value for board in boards.values() if board.best]
    limits = robust_limits(every, keep=bests)
    fig, ax = plt.subplots(figsize=(9.0, 1.1 * len(boards) + 1.8), layout="constrained")
    handles, off = [], 0
    for row, (name, board) in enumerate(boards.items()):
        values = [job.value for job in board.jobs if math.isfinite(job.value)]
        if not values:
            continue
        inside = [min(max(v, limits[0]), limits[1]) for v in values]
        ax.boxplot([inside], positions=[row], vert=False, widths=0.5, showfliers=False, manage_ticks=False)
        ys = row + rng.uniform(-0.22, 0.22, len(values))
        ax.scatter(values, ys, s=12, color=colors[name], alpha=0.7, zorder=3)
        off += mark_off_scale(ax, list(ys), values, limits, horizontal=True)
        if board.best:
            ax.scatter([board.best.value], [row], marker="*", s=160, color=colors[name], edgecolor="black", zorder=4)
        handles.append(Patch(color=colors[name], label=f"{name}: {len(board.jobs)} jobs"))
    ax.set_yticks(range(len(boards)), list(boards), fontsize=8)
    ax.set_ylim(len(boards) - 0.5, -0.5)
    ax.set_xlim(*limits)
    ax.set(xlabel=f"{board0.monitor} ({board0.mode}); star: each sweep's best, box: quartiles",
           title="every job's metric, per sweep")  # fmt: skip
    ax.grid(axis="x", alpha=0.3)
    if off:
        handles.append(off_scale_handle(">"))
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return save_chart(
        fig, out_dir, "comparison_values", "Every job's metric, per sweep", [f"values-{n}" for n in boards]
    )


def _history(boards: dict[str, Leaderboard], out_dir: Path) -> Chart:
    """The best so far against the number of jobs run: which search got there in fewer jobs."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    board0 = next(iter(boards.values()))
    colors = _colors(boards)
    better = min if board0.mode == "min" else max
    fig, ax = plt.subplots(figsize=(9.0, 4.2), layout="constrained")
    bests = [board.best.value for board in boards.values() if board.best]
    curves = {}
    for name, board in boards.items():
        jobs = sorted(board.jobs, key=lambda job: int(job.name) if job.name.isdigit() else 1 << 30)
        best, line = math.nan, []
        for job in jobs:
            if job.status == COMPLETED and math.isfinite(job.value):
                best = job.value if not math.isfinite(best) else better(best, job.value)
            line.append(best)
        curves[name] = line
        ax.step(range(1, len(line) + 1), line, where="post", color=colors[name], linewidth=2,
                label=f"{name}: best {board.best.value:.4g}" if board.best else f"{name}: none completed")  # fmt: skip
    limits = robust_limits([v for line in curves.values() for v in line], keep=bests)
    ax.set_ylim(*limits)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="jobs run", ylabel=f"best {board0.monitor} so far", title="best so far by number of jobs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return save_chart(
        fig, out_dir, "comparison_history", "Best so far by number of jobs", [f"best-{n}" for n in boards]
    )


def _best_curves(boards: dict[str, Leaderboard], out_dir: Path) -> Chart | None:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    colors = _colors(boards)
    metrics = sorted({m for board in boards.values() for m in curve_metrics(board)}, key=lambda m: m != "val/loss")
    best = {name: board.best for name, board in boards.items() if board.best and board.best.curves}
    if not metrics or not best:
        return None
    fig, axes = plt.subplots(1, len(metrics), figsize=(6.5 * len(metrics), 4.4), squeeze=False, layout="constrained")
    for ax, metric in zip(axes[0], metrics, strict=True):
        for name, job in best.items():
            if metric in job.curves:
                epochs, values = zip(*job.curves[metric], strict=True)
                ax.plot(epochs, values, color=colors[name], linewidth=2, marker="." if len(epochs) < 30 else None,
                        label=f"{name}: job {job.name}")  # fmt: skip
        # no robust limits: a sweep's best job is no outlier, and its first epochs belong on the chart
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(title=metric, xlabel="epoch", ylabel=metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.suptitle("each sweep's best job: validation curves")
    return save_chart(fig, out_dir, "comparison_curves", "Each sweep's best job, validation curves",
                      [f"curve-{n}" for n in best])  # fmt: skip


def _page(boards: dict[str, Leaderboard], charts: list[Chart], comparable: bool) -> str:
    rows = []
    for name, board in boards.items():
        values = [job.value for job in board.jobs if math.isfinite(job.value)]
        best = board.best
        failed = sum(is_failure(job.status) for job in board.jobs)
        swept = ", ".join(board.swept_keys)
        rows.append(
            f"<tr><td>{escape(name)}</td><td class='num'>{len(board.jobs)}</td><td class='num'>{failed}</td>"
            f"<td>{escape(board.monitor)} ({board.mode})</td>"
            f"<td class='num'>{f'{best.value:.4g}' if best else ''}</td>"
            f"<td class='num'>{f'{statistics.median(values):.4g}' if values else ''}</td>"
            f"<td>{escape(swept)}</td>"
            f"<td class='wrap'><code>{escape(best.command) if best else 'none completed'}</code></td></tr>"
        )
    head = "<tr><th>sweep</th><th>jobs</th><th>failed</th><th>metric</th><th>best</th><th>median</th>"
    head += "<th>swept</th><th>best job's command</th></tr>"
    note = "" if comparable else (
        "<p class='note'>These sweeps rank by different metrics: their values are not compared.</p>"
    )  # fmt: skip
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>levers sweep comparison</title><style>{STYLE}</style></head>
<body>
<h1>Sweep comparison</h1>
<p>{len(boards)} sweeps, {sum(len(b.jobs) for b in boards.values())} jobs. Each sweep's own report: its
<code>report.html</code>.</p>
<table id="sweeps"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>
{note}
{figures_html(charts)}
{_top_table(boards) if comparable else ""}
</body></html>
"""


def _top_table(boards: dict[str, Leaderboard]) -> str:
    """The best jobs of all sweeps together, one column per lever any sweep swept."""
    board0 = next(iter(boards.values()))
    sign = 1.0 if board0.mode == "min" else -1.0
    jobs = [(name, job) for name, board in boards.items() for job in board.jobs
            if job.status == COMPLETED and math.isfinite(job.value)]  # fmt: skip
    jobs.sort(key=lambda item: sign * item[1].value)
    keys = list(dict.fromkeys(key for board in boards.values() for key in board.swept_keys))
    head = "".join(f"<th>{escape(h)}</th>" for h in ["rank", "sweep", "job", board0.monitor, *keys])
    body = []
    for rank, (name, job) in enumerate(jobs[:TOP], start=1):
        cells = [str(rank), name, job.name, f"{job.value:.4g}", *(short_value(job.params.get(k, "")) for k in keys)]
        body.append("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>")
    return (f"<h2>Top {min(TOP, len(jobs))} jobs of all sweeps</h2><p class='note'>A blank lever: not swept in "
            "that sweep (it ran at that sweep's own setting, see its report).</p>"
            f'<table id="top-jobs"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')  # fmt: skip
