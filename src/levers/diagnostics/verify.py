"""Advice proven by trial: `levers doctor <run dir> --verify` reruns the run with each top suggestion applied.

Every trial and the baseline (the run's own overrides, nothing added) train for the same short budget of epochs,
from the same seed, each in a run directory of its own under `<run dir>/verify/`, as separate `levers train`
processes (a trial is a real run: its summary.json, metrics and checkpoints are there to look at). A suggestion
helped when its best validation value beats the baseline's in the monitored direction. The verdicts go into
doctor.json under `verified`.

Trust: the run's overrides are read from its `.hydra/overrides.yaml`, a file. A file never chooses code, so an
override that could name a class or function (`_target_` and the other instantiate keys, a resolver call) or a
group option outside levers' own config (a path) is refused before anything runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from levers.diagnostics.advice import Suggestion

# A suggestion that changes the budget (more epochs) cannot be judged at an equal budget; a diagnostic callback
# (the layer monitor) measures, it does not fix.
NOT_AT_EQUAL_BUDGET = {"trainer.max_epochs", "callbacks"}
# A different loss changes what the monitored val/loss measures: the trial's value is no verdict on the baseline's.
OTHER_YARDSTICK = {"loss"}
INSTANTIATE_KEYS = re.compile(r"(^|\.)(_target_|_args_|_partial_|_convert_|_recursive_)($|\.)")
GROUP_OPTION = re.compile(r"^[A-Za-z0-9_]+$")
HELPED_MARGIN = 1e-4  # relative: a difference smaller than this is a tie, not help
DEFAULT_TOP, DEFAULT_EPOCHS = 3, 10


class UnsafeOverrides(ValueError):
    """The run directory's overrides could choose code: nothing is replayed."""


@dataclass(frozen=True)
class Trial:
    override: str  # the suggestion applied, "" for the baseline
    reason: str
    run_dir: str
    exit_code: int
    best_value: float | None  # the monitored validation metric's best value
    delta: float | None = None  # best_value - baseline's (None for the baseline or a failed trial)
    helped: bool | None = None


def untrusted_override(override: str) -> str | None:
    """Why an override read from a run directory may not be replayed (None: it may)."""
    key, _, value = override.partition("=")
    key = key.lstrip("+~")
    if INSTANTIATE_KEYS.search(key):
        return f"{key} would choose code to call"
    if "${" in value:
        return f"{key}: a resolver call in a file's value"
    if key.startswith("hydra"):
        return f"{key}: Hydra's own settings"
    if "." not in key and value and not GROUP_OPTION.match(value):
        return f"{key}={value}: not one of levers' own options"
    return None


def candidates(suggestions: Sequence[Suggestion], top: int) -> tuple[list[Suggestion], list[dict[str, str]]]:
    """The first `top` distinct suggestions that an equal budget can judge, and the others skipped with why."""
    chosen: list[Suggestion] = []
    skipped: list[dict[str, str]] = []
    seen: set[str] = set()
    for suggestion in suggestions:
        if suggestion.override in seen:
            continue
        seen.add(suggestion.override)
        if suggestion.key in NOT_AT_EQUAL_BUDGET:
            skipped.append({"override": suggestion.override, "why": "cannot be judged at an equal budget"})
        elif suggestion.key in OTHER_YARDSTICK:
            why = "changes the loss, so its val/loss is not comparable: compare val/mae or val/rmse by hand"
            skipped.append({"override": suggestion.override, "why": why})
        elif len(chosen) < top:
            chosen.append(suggestion)
    return chosen, skipped


def verify(
    run_dir: Path,
    overrides: Sequence[str],
    suggestions: Sequence[Suggestion],
    top: int = DEFAULT_TOP,
    epochs: int = DEFAULT_EPOCHS,
) -> dict[str, Any]:
    """Train the baseline and one trial per chosen suggestion for `epochs` epochs each; the verdicts as data."""
    refused = [f"{o}: {why}" for o in overrides if (why := untrusted_override(o))]
    if refused:
        raise UnsafeOverrides(f"{run_dir / '.hydra' / 'overrides.yaml'}: refused to replay {refused[0]}")
    chosen, skipped = candidates(suggestions, top)
    budget = [f"trainer.max_epochs={epochs}", "quiet=true"]
    folder = run_dir / "verify"
    baseline = _trial("", "the run as it was, at the same budget", [*overrides, *budget], folder / "baseline")
    trials = [
        _trial(s.override, s.reason, [*overrides, *budget, s.override], folder / f"{index}_{_slug(s.override)}")
        for index, s in enumerate(chosen, 1)
    ]
    summary = _read_summary(folder / "baseline")
    mode = str(summary.get("monitor_mode", "min"))
    judged = [_judge(trial, baseline, mode) for trial in trials]
    return {
        "budget_epochs": epochs,
        "monitor": summary.get("monitor"),
        "monitor_mode": mode,
        "baseline": asdict(baseline),
        "trials": [asdict(t) for t in judged],
        "skipped": skipped,
    }


def _trial(override: str, reason: str, args: list[str], run_dir: Path) -> Trial:
    command = [sys.executable, "-m", "levers", "train", *args, f"hydra.run.dir={run_dir}"]
    done = subprocess.run(command, capture_output=True, text=True)
    summary = _read_summary(run_dir)
    value = summary.get("best_value")
    return Trial(override, reason, str(run_dir), done.returncode, float(value) if value is not None else None)


def _judge(trial: Trial, baseline: Trial, mode: str) -> Trial:
    if trial.best_value is None:
        return Trial(**{**asdict(trial), "helped": False})
    if baseline.best_value is None:
        return Trial(**{**asdict(trial), "helped": True})  # it trained where the run as it was could not
    delta = trial.best_value - baseline.best_value
    gain = -delta if mode == "min" else delta
    helped = gain > HELPED_MARGIN * max(abs(baseline.best_value), 1e-12)
    return Trial(**{**asdict(trial), "delta": delta, "helped": helped})


def _read_summary(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "summary.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _slug(override: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", override).strip("_")[:60]


def verdict_lines(verified: dict[str, Any]) -> list[str]:
    """One line per trial, for the terminal."""
    base = verified["baseline"]["best_value"]
    metric = verified.get("monitor") or "monitored metric"
    lines = [f"verify: baseline ({verified['budget_epochs']} epochs each, best {metric}): {_fmt(base)}"]
    for trial in verified["trials"]:
        if trial["best_value"] is None:
            lines.append(f"verify: {trial['override']}: the trial failed (exit {trial['exit_code']})")
            continue
        word = "helped" if trial["helped"] else "did not help"
        delta = "" if trial["delta"] is None else f", {trial['delta']:+.4g}"
        lines.append(f"verify: {trial['override']}: {word} (best {_fmt(trial['best_value'])}{delta})")
    lines += [f"verify: {s['override']}: not tried ({s['why']})" for s in verified["skipped"]]
    return lines


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.4g}"
