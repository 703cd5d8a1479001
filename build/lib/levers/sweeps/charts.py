"""The report's charts (matplotlib): every job's validation curves overlaid, the final metric per job, and each swept
lever against the metric. Each chart is saved as a PNG and returned as SVG text for the self-contained HTML page;
every drawn series carries an SVG id (`series-<job>-<metric>`, `final-<job>`, `param-<key>`) so it can be found."""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

from levers.sweeps.jobs import Job
from levers.sweeps.leaderboard import Leaderboard

MAX_LEGEND = 16


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    png: Path
    svg: str


def draw_charts(board: Leaderboard, out_dir: Path) -> list[Chart]:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    charts = [_curves(board, out_dir), _final(board, out_dir)]
    if board.swept_keys:
        charts.append(_params(board, out_dir))
    return charts


def curve_metrics(board: Leaderboard) -> list[str]:
    """val/loss and the task's headline metric (the monitored one unless it is the loss)."""
    names = sorted({name for job in board.jobs for name in job.curves})
    headline = board.monitor if board.monitor in names and board.monitor != "val/loss" else None
    headline = headline or next((n for n in ("val/acc", "val/mae", "val/rmse", "val/r2") if n in names), None)
    return [name for name in ("val/loss", headline) if name and name in names]


def _curves(board: Leaderboard, out_dir: Path) -> Chart:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    metrics = curve_metrics(board)
    fig, axes = plt.subplots(1, max(len(metrics), 1), figsize=(6.5 * max(len(metrics), 1), 4.2), squeeze=False)
    best = board.best
    for ax, metric in zip(axes[0], metrics, strict=False):
        for job in board.jobs:
            points = job.curves.get(metric)
            if not points:
                continue
            epochs, values = zip(*points, strict=True)
            style = {"linewidth": 2.6, "zorder": 3} if job is best else {"linewidth": 1.2, "zorder": 2}
            marker = "." if len(points) < 30 else None
            (line,) = ax.plot(epochs, values, marker=marker, label=label(job, board.swept_keys), **style)
            line.set_gid(f"series-{job.name}-{_slug(metric)}")
        ax.set(title=metric, xlabel="epoch", ylabel=metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if 0 < sum(1 for job in board.jobs if job.curves) <= MAX_LEGEND:
        axes[0][-1].legend(fontsize=7, loc="best")
    fig.suptitle("validation curves of every job (thick: best)")
    return _save(fig, out_dir, "curves", "Validation curves, every job overlaid")


def _final(board: Leaderboard, out_dir: Path) -> Chart:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(board.jobs) + 1.5))
    for position, job in enumerate(board.jobs):
        if math.isfinite(job.value):
            (bar,) = ax.barh(position, job.value, color=_status_color(job)).patches
            bar.set_gid(f"final-{job.name}")
            ax.annotate(f"{job.value:.4g}", (job.value, position), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7)  # fmt: skip
        else:
            ax.annotate(job.status, (0, position), va="center", fontsize=8, color="crimson")
    ax.set_yticks(range(len(board.jobs)), [label(job, board.swept_keys) for job in board.jobs], fontsize=7)
    ax.invert_yaxis()  # rank 1 on top
    ax.set(xlabel=f"{board.monitor} ({board.mode}; k-fold mean where cross-validated)", title="final metric per job")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, out_dir, "final", "Final metric per job, best first")


def _params(board: Leaderboard, out_dir: Path) -> Chart:
    import matplotlib.pyplot as plt

    keys = board.swept_keys
    columns, rows = min(len(keys), 3), math.ceil(len(keys) / 3)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns + 0.5, 3.4 * rows + 0.4), squeeze=False)
    for ax in axes.flat[len(keys) :]:
        ax.set_visible(False)
    scored = [job for job in board.jobs if math.isfinite(job.value)]
    for ax, key in zip(axes.flat, keys, strict=False):
        raw = [job.params.get(key, "") for job in scored]
        numbers = [_as_float(value) for value in raw]
        if raw and all(number is not None for number in numbers):
            xs = numbers
            positive = [x for x in xs if x > 0]
            if len(positive) == len(xs) and max(xs) / min(xs) >= 100:
                ax.set_xscale("log")
        else:
            categories = sorted(set(raw))
            xs = [categories.index(value) for value in raw]
            ax.set_xticks(range(len(categories)), categories, rotation=30, fontsize=7)
            ax.set_xlim(-0.5, max(len(categories), 1) - 0.5)
        points = ax.scatter(xs, [job.value for job in scored], c=[_status_color(job) for job in scored], zorder=2)
        points.set_gid(f"param-{_slug(key)}")
        ax.set(xlabel=key, ylabel=board.monitor)
        ax.grid(alpha=0.3)
    fig.suptitle(f"each swept lever against {board.monitor}")
    return _save(fig, out_dir, "params", "Each swept lever against the metric")


def _save(fig, out_dir: Path, name: str, title: str) -> Chart:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    png = out_dir / f"{name}.png"
    fig.savefig(png, dpi=110)
    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": name, "svg.fonttype": "none"}):  # ids unique across the page's SVGs
        fig.savefig(buffer, format="svg")
    plt.close(fig)
    svg = buffer.getvalue()
    return Chart(name, title, png, svg[svg.index("<svg") :])


def label(job: Job, keys: list[str]) -> str:
    """`#3 lr=0.00123, depth=2`: the job number and its values of the swept levers, numbers to 3 digits."""
    swept = ", ".join(f"{key.split('.')[-1]}={_short(job.params.get(key, ''))}" for key in keys[:4])
    return f"#{job.name} {swept}"[:64]


def _short(value: str) -> str:
    number = _as_float(value)
    return value if number is None or value.lstrip("-").isdigit() else f"{number:.3g}"


def _status_color(job: Job) -> str:
    return {"completed": "tab:blue", "pruned": "tab:gray"}.get(job.status, "crimson")


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)
