"""The diagnostics' figures (lr_find.png, monitor.png); matplotlib is imported here only, on the Agg backend.

matplotlib is the optional extra `levers[diagnostics]`: without it a figure is skipped with a warning, never the run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def save_figure(plot: Callable[[Any, Path], None], data: Any, path: Path) -> bool:
    """Draw `plot(data, path)`; False (and a warning) when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError:
        log.warning("matplotlib is not installed (pip install 'levers[diagnostics]'): %s not drawn", path.name)
        return False
    plot(data, path)
    return True


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_lr_find(result: dict[str, Any], path: Path) -> None:
    """Loss against log lr, raw and smoothed, with the divergence point and both suggestions marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(result["lrs"], result["losses"], color="0.75", linewidth=0.8, label="loss (raw)")
    ax.plot(result["lrs"], result["smoothed"], color="C0", label="loss (smoothed)")
    marks = (
        ("divergence_lr", "C3", "diverges"),
        ("half_divergence_lr", "C2", "half of divergence"),
        ("steepest_lr", "C1", "steepest descent"),
        ("valley_lr", "C4", "valley"),
    )
    for key, color, label in marks:
        if result.get(key):
            ax.axvline(result[key], color=color, linestyle="--", label=f"{label}: {result[key]:.2g}")
    finite = [v for v in result["smoothed"] if math.isfinite(v)]
    if finite:  # from below the best to a little above the start: the divergence's spike would flatten the rest
        top = min(max(finite), max(finite[0], 2 * min(finite)) * 1.2)
        ax.set_ylim(min(finite) * 0.8, top)
    rule = result["suggestion"] if result.get("trusted", True) else "no trusted rule: default"
    title = f"LR range test: suggested lr ({rule}) {result['suggested_lr']:.2g}"
    ax.set(xscale="log", xlabel="learning rate", ylabel="training loss", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


MONITOR_PANELS = (
    ("act_mean", "activation mean"),
    ("act_std", "activation std"),
    ("dead_frac", "dead ReLU fraction"),
    ("saturated_frac", "saturated fraction"),
    ("grad_norm", "weight gradient norm"),
    ("update_ratio", "update / weight"),
)


def plot_monitor(history: dict[str, dict[str, Any]], path: Path) -> None:
    """One panel per statistic, one line per layer, against the training step."""
    plt = _pyplot()
    panels = [(s, t) for s, t in MONITOR_PANELS if any(s in e["stats"] for e in history.values())]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.2 * len(panels)), sharex=True, squeeze=False)
    for ax, (stat, title) in zip(axes[:, 0], panels, strict=True):
        for name, entry in history.items():
            if stat in entry["stats"]:
                label = entry.get("label", f"{name} ({entry['type']})")  # older monitor.json: no label
                ax.plot(entry["steps"], entry["stats"][stat], marker=".", label=label)
        if stat in ("grad_norm", "update_ratio"):
            ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6, loc="best")
    axes[-1, 0].set_xlabel("training step")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
