"""The report's charts (matplotlib), readable from 4 jobs to hundreds: the top jobs' validation curves over a band
for the rest, the final metric of the top jobs, the metric by job number, each swept lever against the metric, a
parallel-coordinates plot and the levers' importance. Every axis is limited robustly (robust.py) with the points off
it marked, and every colour has a legend entry. Each chart is a PNG beside the page and embedded in it; `series`
names what was drawn (`curve-<job>-<metric>`, `band-<metric>`, `final-<job>`...), for tests and readers alike."""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from levers.sweeps.jobs import COMPLETED, PRUNED, Job
from levers.sweeps.leaderboard import Leaderboard, short_value
from levers.sweeps.repeats import ConfigResult, config_keys
from levers.sweeps.robust import outside, robust_limits

TOP = 10  # jobs drawn one by one; the rest become a band
MAX_BARS = 30
MAX_TICKS = 12  # discrete values up to this many get one tick each
STATUS_COLORS = {COMPLETED: "tab:blue", PRUNED: "tab:gray"}
FAILED_COLOR = "crimson"
OFF_SCALE = {"marker": "^", "color": "black", "s": 28, "zorder": 5, "clip_on": False}
DPI = 100
LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85}  # readable over the lines


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    png: Path
    data: bytes  # the PNG's bytes, embedded in the page
    series: tuple[str, ...] = field(default=())


def draw_charts(board: Leaderboard, out_dir: Path, importances: dict[str, float] | None = None,
                configs: list[ConfigResult] | None = None) -> list[Chart]:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    keys = sorted(board.swept_keys, key=lambda key: -(importances or {}).get(key, -1.0))  # labels: what mattered
    charts = [_curves(board, out_dir, keys), _final(board, out_dir, keys)]
    if configs:
        charts.append(_configs(board, configs, out_dir))
    if len(board.jobs) > TOP:
        charts.append(_history(board, out_dir))
    if board.swept_keys and any(math.isfinite(job.value) for job in board.jobs):
        charts.append(_params(board, out_dir))
    if len(config_keys(board)) >= 2 and sum(math.isfinite(job.value) for job in board.jobs) >= 2:
        charts.append(_parallel(board, out_dir))
    if importances:
        charts.append(_importance(board, importances, out_dir))
    return charts


def curve_metrics(board: Leaderboard) -> list[str]:
    """val/loss and the task's headline metric (the monitored one unless it is the loss)."""
    names = sorted({name for job in board.jobs for name in job.curves})
    headline = board.monitor if board.monitor in names and board.monitor != "val/loss" else None
    headline = headline or next((n for n in ("val/acc", "val/mae", "val/rmse", "val/r2") if n in names), None)
    return [name for name in ("val/loss", headline) if name and name in names]


def _curves(board: Leaderboard, out_dir: Path, keys: list[str]) -> Chart:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    metrics = curve_metrics(board)
    columns = max(len(metrics), 1)
    fig, axes = plt.subplots(1, columns, figsize=(6.5 * columns, 5.4), squeeze=False, layout="constrained")
    ranked = [job for job in board.jobs if job.curves]
    top, rest = ranked[:TOP], ranked[TOP:]
    colors = plt.get_cmap("tab10").colors
    handles: dict[str, object] = {}
    series: list[str] = []
    for ax, metric in zip(axes[0], metrics, strict=False):
        limits = robust_limits(v for job in ranked for _, v in job.curves.get(metric, []))
        if len(rest) >= 3:
            epochs, low, mid, high = _band(rest, metric)
            ax.fill_between(epochs, low, high, color="0.82", zorder=1)
            ax.plot(epochs, mid, color="0.45", linestyle="--", linewidth=1.2, zorder=1)
            handles["band"] = Patch(color="0.82", label=f"the other {len(rest)} jobs: 10-90% per epoch")
            handles["median"] = Line2D([], [], color="0.45", linestyle="--", label=f"the other {len(rest)}: median")
            series.append(f"band-{_slug(metric)}")
        else:
            for job in rest:
                ax.plot(*zip(*job.curves[metric], strict=True), color="0.6", linewidth=1, zorder=1)
                handles["rest"] = Line2D([], [], color="0.6", label="other jobs")
                series.append(f"curve-{job.name}-{_slug(metric)}")
        off = 0
        for rank, job in enumerate(top):
            points = job.curves.get(metric)
            if not points:
                continue
            epochs, values = zip(*points, strict=True)
            color = colors[rank % len(colors)]
            width = 2.8 if rank == 0 else 1.4
            ax.plot(epochs, values, color=color, linewidth=width, marker="." if len(points) < 30 else None, zorder=3)
            handles[job.name] = Line2D([], [], color=color, linewidth=width, label=job_label(job, keys))
            series.append(f"curve-{job.name}-{_slug(metric)}")
            off += mark_off_scale(ax, epochs, values, limits)
        for job in rest:
            epochs, values = zip(*job.curves.get(metric, [(0, math.nan)]), strict=True)
            off += mark_off_scale(ax, epochs, values, limits)
        if off:
            handles["off"] = off_scale_handle()
            ax.annotate(f"{off} point(s) off the scale", (0.99, 0.99), xycoords="axes fraction", ha="right",
                        va="top", fontsize=8)  # fmt: skip
        ax.set_ylim(*limits)
        ax.set(title=metric, xlabel="epoch", ylabel=metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if not metrics:
        axes[0][0].set_axis_off()
        axes[0][0].text(0.5, 0.5, "no job wrote validation curves (metrics.csv)", ha="center", va="center")
    if handles:
        fig.legend(handles=list(handles.values()), loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    shown = f"the top {len(top)} of {len(ranked)} jobs" if rest else "every job"
    fig.suptitle(f"validation curves: {shown} (thick: best)")
    return save_chart(fig, out_dir, "curves", f"Validation curves: {shown}", series)


def _band(jobs: list[Job], metric: str) -> tuple[list[int], list[float], list[float], list[float]]:
    by_epoch: dict[int, list[float]] = {}
    for job in jobs:
        for epoch, value in job.curves.get(metric, []):
            if math.isfinite(value):
                by_epoch.setdefault(epoch, []).append(value)
    epochs = sorted(by_epoch)
    quantiles = [np.quantile(by_epoch[epoch], (0.1, 0.5, 0.9)) for epoch in epochs]
    return epochs, *([float(q[i]) for q in quantiles] for i in range(3))


@dataclass(frozen=True)
class _Dot:
    label: str
    value: float
    std: float | None
    status: str
    gid: str


def _final(board: Leaderboard, out_dir: Path, keys: list[str]) -> Chart:
    shown = board.jobs[:MAX_BARS]
    dots = [
        _Dot(job_label(job, keys, value=False), job.value, (job.summary.get("cv") or {}).get("std"),
             job.status if job.status in STATUS_COLORS else "failed", f"final-{job.name}")
        for job in shown
    ]  # fmt: skip
    more = len(board.jobs) - len(shown)
    title = "final metric, best first" + (f" (top {len(shown)}; {more} more in the leaderboard)" if more else "")
    xlabel = f"{board.monitor} ({board.mode}; k-fold mean +- std where cross-validated)"
    return _dot_chart(board, dots, title, xlabel, out_dir, "final", "Final metric per job, best first")


def _configs(board: Leaderboard, configs: list[ConfigResult], out_dir: Path) -> Chart:
    shown = configs[:MAX_BARS]
    keys = list(shown[0].params)
    dots = [_Dot(", ".join(f"{k.split('.')[-1]}={short_value(v)}" for k, v in c.params.items()) or "every job",
                 c.mean, c.std if math.isfinite(c.std) else None, COMPLETED if c.values else "failed",
                 "config-" + _slug("-".join(c.params.values()))) for c in shown]  # fmt: skip
    title = f"mean +- std over repeats per configuration ({len(configs)} configurations of {', '.join(keys)})"
    xlabel = f"{board.monitor} ({board.mode}): mean of each configuration's repeats, bar: +- 1 std"
    return _dot_chart(
        board, dots, title, xlabel, out_dir, "configs", "Mean +- std over seeds or folds, per configuration"
    )


def _dot_chart(board: Leaderboard, dots: list[_Dot], title: str, xlabel: str, out_dir: Path, name: str,
               caption: str) -> Chart:  # fmt: skip
    """Dots, not bars: a loss of 0.30 against 0.31 needs no zero baseline to compare, and the axis can be robust."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(8.5, 0.28 * len(dots) + 1.9), layout="constrained")
    spreads = [d.value + sign * d.std for d in dots if d.std for sign in (-1, 1)]
    limits = robust_limits([d.value for d in dots], keep=[*([board.best.value] if board.best else []), *spreads])
    colors = {**STATUS_COLORS, "failed": FAILED_COLOR}
    series, statuses, off = [], set(), 0
    for position, dot in enumerate(dots):
        statuses.add(dot.status)
        if not math.isfinite(dot.value):
            ax.annotate(f"{dot.status}: no value", (limits[0], position), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=8, color=FAILED_COLOR)  # fmt: skip
            continue
        shown = min(max(dot.value, limits[0]), limits[1])
        ax.hlines(position, limits[0], shown, color="0.85", linewidth=1, zorder=1)
        if dot.std:
            ax.errorbar(shown, position, xerr=dot.std, color=colors[dot.status], capsize=3, zorder=2)
        marker = {"marker": ">" if dot.value > limits[1] else "<", "color": "black"} if shown != dot.value else {}
        off += bool(marker)
        ax.scatter([shown], [position], s=36, zorder=3, **({"color": colors[dot.status]} | marker))
        text = f"{dot.value:.4g}" + (f" +- {dot.std:.2g}" if dot.std else "")
        ax.annotate(text, (shown, position), xytext=(6, 0), textcoords="offset points", va="center", fontsize=7)
        series.append(dot.gid)
    ax.set_yticks(range(len(dots)), [dot.label for dot in dots], fontsize=7)
    ax.set_ylim(len(dots) - 0.5, -0.5)  # rank 1 on top
    ax.set_xlim(limits[0], limits[1] + 0.12 * (limits[1] - limits[0]))  # room for the numbers
    ax.set(xlabel=xlabel, title=title)
    ax.grid(axis="x", alpha=0.3)
    handles = _status_handles(statuses)
    if off:
        handles.append(Line2D([], [], marker=">", color="black", linestyle="", label="off the scale (outlier)"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return save_chart(fig, out_dir, name, caption, series)


def _history(board: Leaderboard, out_dir: Path) -> Chart:
    """The metric by job number with the best so far: did the search still improve at the end?"""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    jobs = sorted(board.jobs, key=lambda job: int(job.name) if job.name.isdigit() else 1 << 30)
    numbers = [int(job.name) if job.name.isdigit() else i for i, job in enumerate(jobs)]
    values = [job.value for job in jobs]
    fig, ax = plt.subplots(figsize=(8.5, 4.6), layout="constrained")
    limits = robust_limits(values, keep=[board.best.value] if board.best else [])
    ax.scatter(numbers, values, c=[_status_color(job) for job in jobs], s=16, zorder=3)
    best, best_so_far = math.nan, []
    for job, value in zip(jobs, values, strict=True):
        if job.status == COMPLETED and math.isfinite(value):
            best = value if not math.isfinite(best) else (min if board.mode == "min" else max)(best, value)
        best_so_far.append(best)
    ax.step(numbers, best_so_far, where="post", color="darkorange", linewidth=2, zorder=4)
    handles = [*_status_handles({job.status if job.status in STATUS_COLORS else "failed" for job in jobs}),
               Line2D([], [], color="darkorange", linewidth=2, label="best so far")]  # fmt: skip
    if mark_off_scale(ax, numbers, values, limits):
        handles.append(off_scale_handle())
    failed = [n for n, job in zip(numbers, jobs, strict=True) if not math.isfinite(job.value)]
    if failed:
        ax.scatter(failed, [limits[0]] * len(failed), marker="x", color=FAILED_COLOR, zorder=5, clip_on=False)
        handles.append(Line2D([], [], marker="x", color=FAILED_COLOR, linestyle="", label="failed: no value"))
    ax.set_ylim(*limits)
    ax.set(xlabel="job number (the order jobs ran in)", ylabel=board.monitor, title=f"{board.monitor} by job number")
    ax.grid(alpha=0.3)
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)  # off the points
    return save_chart(fig, out_dir, "history", "The metric by job number, with the best so far", ["history"])


def _params(board: Leaderboard, out_dir: Path) -> Chart:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    keys = board.swept_keys
    columns, rows = min(len(keys), 3), math.ceil(len(keys) / 3)
    fig, axes = plt.subplots(rows, columns, figsize=(4.4 * columns + 0.5, 3.5 * rows + 1.0), squeeze=False,
                             layout="constrained")  # fmt: skip
    for ax in axes.flat[len(keys) :]:
        ax.set_visible(False)
    scored = [job for job in board.jobs if math.isfinite(job.value)]
    values = [job.value for job in scored]
    limits = robust_limits(values, keep=[board.best.value] if board.best else [])
    rng = np.random.default_rng(0)  # the same jitter every time the report is built
    handles: dict[str, object] = {}
    series = []
    for ax, key in zip(axes.flat, keys, strict=False):
        axis = _axis_of([job.params.get(key, "") for job in scored])
        xs = np.asarray(axis.positions, dtype=float)
        if axis.discrete:
            steps = np.diff(sorted(set(axis.positions))) if len(set(axis.positions)) > 1 else [1.0]
            xs = xs + rng.uniform(-0.15, 0.15, len(xs)) * float(min(steps))
            for position in sorted(set(axis.positions)):
                group = [v for v, p in zip(values, axis.positions, strict=True) if p == position]
                if len(group) < 3:  # a median of one or two points says nothing the points do not
                    continue
                ax.hlines(float(np.median(group)), position - 0.3 * float(min(steps)),
                          position + 0.3 * float(min(steps)), color="black", linewidth=2, zorder=4)  # fmt: skip
                handles["median"] = Line2D([], [], color="black", linewidth=2, label="median per value")
        ax.scatter(xs, values, c=[_status_color(job) for job in scored], s=14, alpha=0.8, zorder=3)
        if mark_off_scale(ax, xs, values, limits):
            handles["off"] = off_scale_handle()
        axis.apply(ax)
        ax.set_ylim(*limits)
        ax.set(xlabel=key, ylabel=board.monitor)
        ax.grid(alpha=0.3)
        series.append(f"param-{_slug(key)}")
    statuses = {job.status if job.status in STATUS_COLORS else "failed" for job in scored}
    fig.legend(handles=[*_status_handles(statuses), *handles.values()], loc="outside lower center", ncols=4,
               fontsize=8, frameon=False)  # fmt: skip
    fig.suptitle(f"each swept lever against {board.monitor} (points jittered sideways on discrete levers)")
    return save_chart(fig, out_dir, "params", "Each swept lever against the metric", series)


def _parallel(board: Leaderboard, out_dir: Path) -> Chart:
    """One vertical axis per lever and one for the metric; each job a line, coloured by its metric."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    keys = config_keys(board)
    scored = [job for job in board.jobs if math.isfinite(job.value)]
    axes_of = [_axis_of([job.params.get(key, "") for job in scored]) for key in keys]
    limits = robust_limits([job.value for job in scored], keep=[board.best.value] if board.best else [])
    columns = [axis.normalized() for axis in axes_of]
    metric = [(min(max(job.value, limits[0]), limits[1]) - limits[0]) / (limits[1] - limits[0]) for job in scored]
    lines = np.asarray([[(i, column[j]) for i, column in enumerate([*columns, metric])] for j in range(len(scored))])
    fig, ax = plt.subplots(figsize=(max(7.0, 1.9 * (len(keys) + 1) + 2), 4.8), layout="constrained")
    # coloured by rank, not value: a search crowds its jobs near the best, and a value scale would paint them one
    # colour; the colour bar's ticks still read as values (the metric at each rank quantile). Best: dark, on top.
    cmap, norm = plt.get_cmap("viridis"), Normalize(0.0, 1.0)
    shade = [j / max(len(scored) - 1, 1) for j in range(len(scored))]  # scored is best first
    rest, top = list(range(min(TOP, len(scored)), len(scored)))[::-1], list(range(min(TOP, len(scored))))[::-1]
    for order, width, alpha in ((rest, 0.8, 0.45), (top, 2.6, 1.0)):
        if order:
            colors = cmap([shade[j] for j in order])
            ax.add_collection(LineCollection(lines[order], colors=colors, linewidths=width, alpha=alpha))
    for i, axis in enumerate(axes_of):
        ax.axvline(i, color="0.3", linewidth=1)
        for y, text in axis.ticks():
            ax.annotate(text, (i, y), xytext=(-4, 0), textcoords="offset points", ha="right", va="center", fontsize=7,
                        bbox=LABEL_BOX, zorder=10)  # fmt: skip
    ax.axvline(len(keys), color="0.3", linewidth=1)
    clipped = [min(max(job.value, limits[0]), limits[1]) for job in scored]
    off = [(y - limits[0]) / (limits[1] - limits[0]) for y, job in zip(clipped, scored, strict=True) if y != job.value]
    if off:  # drawn at the axis end they went past
        ax.scatter([len(keys)] * len(off), off, **{**OFF_SCALE, "marker": "D", "s": 22, "zorder": 11})
        ax.legend(handles=[off_scale_handle("D")], loc="lower right", fontsize=8, bbox_to_anchor=(1.0, -0.16))
    for y in np.linspace(0, 1, 5):
        value = limits[0] + y * (limits[1] - limits[0])
        ax.annotate(f"{value:.4g}", (len(keys), y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=7,
                    bbox=LABEL_BOX, zorder=10)  # fmt: skip
    ax.set_xticks(range(len(keys) + 1), [*keys, board.monitor], fontsize=8)
    ax.set_xlim(-0.6, len(keys) + 0.5)
    ax.set_ylim(-0.05, 1.05)
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    colorbar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.02)
    ranks = sorted({round(q * (len(scored) - 1)) for q in np.linspace(0, 1, 5)})  # a tick per rank, once
    colorbar.set_ticks([r / max(len(scored) - 1, 1) for r in ranks], labels=[f"{scored[r].value:.4g}" for r in ranks])
    colorbar.set_label(f"{board.monitor} by rank (line colour; thick: top {TOP})")
    dropped = len(board.jobs) - len(scored)
    ax.set_title(
        "parallel coordinates: every scored job" + (f" ({dropped} without a value left out)" if dropped else "")
    )
    return save_chart(fig, out_dir, "parallel", "Parallel coordinates: each job's levers and metric", ["parallel"])


def _importance(board: Leaderboard, importances: dict[str, float], out_dir: Path) -> Chart:
    import matplotlib.pyplot as plt

    keys = list(importances)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(keys) + 1.4), layout="constrained")
    ax.barh(range(len(keys)), [importances[key] for key in keys], color="tab:purple")
    for position, key in enumerate(keys):
        ax.annotate(f"{importances[key]:.3f}", (importances[key], position), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=8)  # fmt: skip
    ax.set_yticks(range(len(keys)), keys, fontsize=8)
    ax.set_ylim(len(keys) - 0.5, -0.5)
    ax.set_xlim(0, max(1.0, max(importances.values()) * 1.15))
    ax.set(xlabel=f"share of the variance of {board.monitor} (Optuna fANOVA; sums to 1)",
           title="which lever mattered")  # fmt: skip
    ax.grid(axis="x", alpha=0.3)
    return save_chart(fig, out_dir, "importance", "Hyperparameter importance", [f"importance-{_slug(k)}" for k in keys])


@dataclass(frozen=True)
class _Axis:
    """A lever's values placed on an axis: words by index, integers as integers, the rest as numbers (log when
    they span two decades or more)."""

    positions: list[float]
    labels: dict[float, str]  # discrete: position -> tick label
    log: bool = False
    integer: bool = False  # many integers (depth 1..32): integer ticks, never 1.5

    @property
    def discrete(self) -> bool:
        return bool(self.labels)

    def apply(self, ax) -> None:
        if self.discrete:
            ax.set_xticks(list(self.labels), list(self.labels.values()), rotation=30 if len(self.labels) > 4 else 0,
                          fontsize=8)  # fmt: skip
            positions = sorted(self.labels)
            step = min(np.diff(positions)) if len(positions) > 1 else 1.0
            ax.set_xlim(positions[0] - 0.5 * step, positions[-1] + 0.5 * step)  # the end values off the frame
        elif self.log:
            ax.set_xscale("log")
        if self.integer:
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))

    def normalized(self) -> list[float]:
        """Positions in [0, 1] for the parallel-coordinates plot: discrete values evenly spaced, in order."""
        if self.discrete:
            keys = sorted(self.labels)
            return [keys.index(p) / (len(keys) - 1) if len(keys) > 1 else 0.5 for p in self.positions]
        values = np.log10(self.positions) if self.log else np.asarray(self.positions, dtype=float)
        low, high = float(values.min()), float(values.max())
        return list((values - low) / (high - low) if high > low else np.full(len(values), 0.5))

    def ticks(self) -> list[tuple[float, str]]:
        if self.discrete:
            n = max(len(self.labels) - 1, 1)
            return [(i / n if len(self.labels) > 1 else 0.5, text) for i, text in enumerate(self.labels.values())]
        low, high = min(self.positions), max(self.positions)
        if self.log:
            return [(y, f"{10 ** (math.log10(low) + y * (math.log10(high) - math.log10(low))):.3g}")
                    for y in np.linspace(0, 1, 5)]  # fmt: skip
        if self.integer:
            return [(y, f"{round(low + y * (high - low))}") for y in np.linspace(0, 1, 5)]
        return [(y, f"{low + y * (high - low):.4g}") for y in np.linspace(0, 1, 5)]


def _axis_of(raw: list[str]) -> _Axis:
    numbers = [_as_float(text) for text in raw]
    if not raw or any(number is None for number in numbers):
        categories = sorted(set(raw))
        return _Axis([float(categories.index(text)) for text in raw], {float(i): c for i, c in enumerate(categories)})
    unique = sorted(set(numbers))
    integers = all(text.lstrip("-").isdigit() for text in raw)
    if (integers or len(unique) <= MAX_TICKS // 2) and len(unique) <= MAX_TICKS:  # a grid's few values: a tick each
        if unique[0] > 0 and unique[-1] / unique[0] >= (8 if integers else 100):  # 1e-4..1e-2, 16..128: by rank
            return _Axis([float(unique.index(n)) for n in numbers],
                         {float(i): short_value(str(n)) for i, n in enumerate(unique)})  # fmt: skip
        return _Axis(numbers, {n: short_value(str(int(n)) if integers else str(n)) for n in unique})
    log = unique[0] > 0 and unique[-1] / unique[0] >= 100
    return _Axis(numbers, {}, log, integers)


def mark_off_scale(ax, xs, values, limits: tuple[float, float], horizontal: bool = False) -> int:
    """Values beyond the axis as black triangles on its edge (pointing the way they went); returns how many.
    `horizontal`: the values lie along x (and `xs` are their y positions)."""
    off = outside(values, limits)
    for edge, beyond, marker in (
        (limits[1], 1, ">" if horizontal else "^"),
        (limits[0], -1, "<" if horizontal else "v"),
    ):
        picked = [i for i in off if (values[i] - edge) * beyond > 0]
        if picked:
            points = ([edge] * len(picked), [xs[i] for i in picked])
            ax.scatter(*(points if horizontal else points[::-1]), **{**OFF_SCALE, "marker": marker})
    return len(off)


def off_scale_handle(marker: str = "^"):
    from matplotlib.lines import Line2D

    return Line2D([], [], marker=marker, color="black", linestyle="", label="off the scale (outlier, at the edge)")


def _status_handles(statuses: set[str]) -> list:
    from matplotlib.patches import Patch

    names = {COMPLETED: "completed", PRUNED: "pruned (stopped early by the search)", "failed": "failed or diverged"}
    colors = {**STATUS_COLORS, "failed": FAILED_COLOR}
    return [Patch(color=colors[s], label=names[s]) for s in (COMPLETED, PRUNED, "failed") if s in statuses]


def save_chart(fig, out_dir: Path, name: str, title: str, series: list[str]) -> Chart:
    import matplotlib.pyplot as plt

    from levers.io import atomic_write

    png = out_dir / f"{name}.png"
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png")
    plt.close(fig)
    with atomic_write(png, "wb") as handle:  # atomic: workers sharing a sweep dir report together
        handle.write(buffer.getvalue())
    return Chart(name, title, png, buffer.getvalue(), tuple(series))


def job_label(job: Job, keys: list[str], value: bool = True) -> str:
    """The label and, by default, the job's value; `keys` in the order to show (the most important lever first)."""
    text = label(job, keys)
    return f"{text}: {job.value:.4g}" if value and math.isfinite(job.value) else text


def label(job: Job, keys: list[str]) -> str:
    """`#3 lr=0.00123, depth=2`: the job number and its values of the swept levers, numbers to 4 digits."""
    swept = ", ".join(f"{key.split('.')[-1]}={short_value(job.params.get(key, ''))}" for key in keys[:4])
    return f"#{job.name} {swept}"[:70]


def _status_color(job: Job) -> str:
    return STATUS_COLORS.get(job.status, FAILED_COLOR)


def _as_float(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)
