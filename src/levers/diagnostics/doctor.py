"""The training doctor: reads what a run left behind and names the next override to try (practice guide, 8-9).

Runs at the end of every training run (and after a diverged one), and as `levers doctor <run dir>`. It reads
summary.json, metrics.csv, monitor.json (when the layer monitor was on) and the run's config (.hydra/config.yaml,
else the loggers' hparams.yaml), applies the rules below, logs one line per finding and writes doctor.json.
`levers doctor <run dir> --verify` then tries the top suggestions in short trial runs (levers.diagnostics.verify).
Each rule's advice is data (levers.diagnostics.advice.Suggestion: key, value, reason, evidence), and every
suggestion is composed against the run's own config before it is shown: one this run cannot take is dropped
(and listed in doctor.json under `rejected`). Directions are fixed by the evidence: a diverged run or one whose
best epoch is its first gets a lower lr, never a higher one; a run whose best epoch came early never gets more
epochs. No Lightning and no torch import: it must start fast.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import statistics
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from levers.diagnostics.advice import Suggestion, rejection, run_overrides
from levers.diagnostics.verify import DEFAULT_EPOCHS, DEFAULT_TOP, UnsafeOverrides, verdict_lines, verify
from levers.io import write_json_atomic

log = logging.getLogger(__name__)

FALLING_FRACTION = 0.01  # train loss fell > 1% over the last epochs: still learning
FLAT_FRACTION = 0.05  # train loss never fell 5% below the first epoch's: flat from the start
GAP_ABSOLUTE, GAP_RATIO = 0.1, 2.0  # val loss above train loss by both this much and this factor
DEAD_FRACTION = 0.5
EXPLODING_RATIO, EXPLODING_ABSOLUTE = 10.0, 1.0  # a gradient norm 10x the median of the ones before it, and > 1
SPREAD_RATIO = 20.0  # largest / smallest feature std on the train split
TAIL_Z, TAIL_FRACTION = 5.0, 0.02  # >= 2% of train targets beyond 5 robust standard deviations: heavy tails
HIGH_FRACTION = 0.5  # train loss never fell below half of the first epoch's: it cannot fit (or is crawling)
SMALL_WIDTH = 16  # a hidden layer narrower than this, or none at all: a model that may be too small
SLOW_MIN_EPOCHS = 10  # fewer epochs are too few to call the learning slow


@dataclass(frozen=True)
class Advice:
    rule: str
    finding: str
    suggestions: list[Suggestion]
    rejected: list[dict[str, str]] = field(default_factory=list)  # {"override", "why"}: not valid for this run

    @property
    def overrides(self) -> list[str]:
        return [s.override for s in self.suggestions]

    def line(self) -> str:
        if not self.suggestions:
            return f"{self.finding} (no override of this run's config applies)"
        return f"{self.finding} -> try: {' | '.join(self.overrides)}"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "overrides": self.overrides}


@dataclass
class Evidence:
    summary: dict[str, Any]
    facts: dict[str, Any]  # config values the rules read (max_epochs, lr, dropout, ...)
    train_loss: list[float]  # per epoch
    val_loss: list[float]  # per epoch
    monitor: dict[str, Any]  # monitor.json's `layers`, or {}


# --- reading a run -------------------------------------------------------------------------------------------

FACT_KEYS = {
    "max_epochs": "trainer.max_epochs",
    "lr": "optimizer.lr",
    "dropout": "regularization.dropout",
    "weight_decay": "regularization.weight_decay",
    "width": "model.width",
    "depth": "model.depth",
    "activation": "model.activation",
    "init": "model.init",
    "scaling": "scaling.method",
    "gradient_clip_val": "trainer.gradient_clip_val",
}


def facts_from_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The few config values the rules look at (FACT_KEYS), from a run's config or a nested mapping read back."""
    if config is None:
        return {}
    return {fact: _select(config, key) for fact, key in FACT_KEYS.items()}


def _select(config: Mapping[str, Any], dotted: str) -> Any:
    if OmegaConf.is_config(config):  # interpolations resolved; one that cannot be is no fact
        return OmegaConf.select(config, dotted, default=None, throw_on_resolution_failure=False)
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def read_run(run_dir: Path, facts: dict[str, Any] | None = None) -> Evidence:
    """Everything the rules look at; a missing file only means fewer rules can speak. `facts`: the run's config
    facts when the caller has them (a run in progress), else read from the run directory."""
    if facts is None:
        facts = facts_from_config(_saved_config(run_dir))
    summary = _read_json(run_dir / "summary.json")
    rows = _read_csv(run_dir / "metrics.csv")
    return Evidence(
        summary=summary,
        facts=facts,
        train_loss=epoch_series(rows, "train/loss"),
        val_loss=epoch_series(rows, "val/loss"),
        monitor=_read_json(run_dir / "monitor.json").get("layers", {}),
    )


def epoch_series(rows: list[dict[str, str]], key: str) -> list[float]:
    """One value per epoch (the last logged), in epoch order; rows without an epoch (monitor steps) are skipped."""
    by_epoch: dict[int, float] = {}
    for row in rows:
        if row.get(key) and row.get("epoch"):
            by_epoch[int(float(row["epoch"]))] = float(row[key])
    return [by_epoch[epoch] for epoch in sorted(by_epoch)]


def target_tails(target: Any) -> float | None:
    """The fraction of train-split regression targets more than TAIL_Z robust standard deviations (1.4826 x the
    median absolute deviation, or the IQR / 1.349 where that is 0) from the median; a normal target has ~1e-6."""
    values = target.double().flatten()
    median = values.median()
    spread = 1.4826 * (values - median).abs().median()
    if spread <= 0:
        spread = (values.quantile(0.75) - values.quantile(0.25)) / 1.349
    if spread <= 0:
        return None
    return float(((values - median).abs() / spread > TAIL_Z).double().mean())


def feature_spread(features: Any) -> float | None:
    """Largest over smallest per-feature std (constant features ignored), on the rows the model trains on."""
    stds = [float(s) for s in features.float().std(dim=0).tolist() if s > 1e-12]
    return max(stds) / min(stds) if len(stds) >= 2 else None


def _saved_config(run_dir: Path) -> Mapping[str, Any] | None:
    """Hydra's saved config, or the resolved copy the loggers keep (hparams.yaml, flat dotted keys) when Hydra
    did not save one; read as data (nothing in it is instantiated)."""
    if (run_dir / ".hydra" / "config.yaml").exists():
        saved = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
        return saved if isinstance(saved, Mapping) else None
    if (run_dir / "hparams.yaml").exists():
        flat = OmegaConf.to_container(OmegaConf.load(run_dir / "hparams.yaml"))
        nested: dict[str, Any] = {}
        for key, value in flat.items() if isinstance(flat, dict) else ():
            *parents, leaf = str(key).split(".")
            node = nested
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return nested
    return None


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


# --- rules ---------------------------------------------------------------------------------------------------


def _lr_auto(e: Evidence) -> bool:
    """The run's lr was chosen by its range test (`optimizer.lr=auto`): suggesting `auto` again changes nothing."""
    return "lr_auto" in e.summary or e.facts.get("lr") == "auto"


def _lower_lr(e: Evidence, reason: str) -> list[Suggestion]:
    """A tenth of the run's lr; `auto` only when the run had a fixed lr the doctor cannot read."""
    lr = e.facts.get("lr")
    if isinstance(lr, int | float) and not isinstance(lr, bool):
        return [Suggestion("optimizer.lr", float(f"{lr / 10:.3g}"), f"{reason}: a tenth of the lr", float(lr))]
    return [] if _lr_auto(e) else [Suggestion("optimizer.lr", "auto", f"{reason}: let a range test pick it")]


def _clip(e: Evidence, reason: str) -> list[Suggestion]:
    if e.facts.get("gradient_clip_val") is not None:
        return []
    return [Suggestion("trainer.gradient_clip_val", 1.0, reason)]


def diverged(e: Evidence) -> Advice | None:
    if e.summary.get("status") != "diverged":
        return None
    exploded = "ExplodedLoss" in str(e.summary.get("error", ""))  # finite, but past the guard's divergence_factor
    finding = "the training loss exploded past its first value" if exploded else "the training loss became NaN/inf"
    return Advice("diverged", finding, [*_lower_lr(e, "diverged"), *_clip(e, "cap the step that diverged")])


def best_epoch_first(e: Evidence) -> Advice | None:
    """The validation metric was best after the first epoch and only worse after: the steps are too big."""
    runs = e.summary.get("epochs_run", len(e.train_loss))
    if e.summary.get("status") != "completed" or e.summary.get("best_epoch") != 0 or runs < 3:
        return None
    finding = f"the best epoch was the first of {runs}: training made the validation metric worse"
    return Advice("best_epoch_first", finding, _lower_lr(e, "best epoch 0"))


def still_improving(e: Evidence) -> Advice | None:
    """More epochs only when they were all used, the train loss is still falling and the validation metric was still
    improving at the end (its best epoch within the last fifth): a best epoch far back is not helped by more."""
    loss, max_epochs = e.train_loss, e.facts.get("max_epochs")
    if e.summary.get("status") != "completed" or len(loss) < 3 or not max_epochs or max_epochs < 0:
        return None
    runs = e.summary.get("epochs_run", len(loss))
    if runs < max_epochs:
        return None  # early stopping ended it: the validation metric had stopped improving
    window = max(2, len(loss) // 5)
    best = e.summary.get("best_epoch")
    if isinstance(best, int) and best < runs - window:
        return None
    start = loss[-window - 1]
    if loss[-1] < loss[-2] and start > 0 and (start - loss[-1]) / start > FALLING_FRACTION:
        fall = (start - loss[-1]) / start
        return Advice(
            "still_improving",
            f"train loss still falling at the last epoch ({start:.4g} -> {loss[-1]:.4g} over {window} epochs)",
            [Suggestion("trainer.max_epochs", 2 * max_epochs, "twice the epochs: it was still learning", fall)],
        )
    return None


def flat_from_start(e: Evidence) -> Advice | None:
    loss = [v for v in e.train_loss if math.isfinite(v)]
    if len(loss) < 3 or loss[0] <= 0 or (loss[0] - min(loss)) / loss[0] >= FLAT_FRACTION:
        return None
    if e.summary.get("best_epoch") == 0:
        return None  # flat and best at once: the steps are too big, not too small (best_epoch_first)
    fall = (loss[0] - min(loss)) / loss[0]
    lr = e.facts.get("lr")
    suggestions = [] if _lr_auto(e) else [Suggestion("optimizer.lr", "auto", "let a range test pick it", fall)]
    if isinstance(lr, int | float) and not isinstance(lr, bool):
        suggestions.append(Suggestion("optimizer.lr", float(f"{lr * 10:.3g}"), "ten times the lr", float(lr)))
    if e.facts.get("init") not in (None, "auto"):
        suggestions.append(Suggestion("model.init", "auto", "the init that fits the activation"))
    if not e.monitor:
        suggestions.append(Suggestion("callbacks", "monitor", "look for dead units"))
    finding = f"train loss flat from the start ({loss[0]:.4g} -> best {min(loss):.4g} in {len(loss)} epochs)"
    return Advice("flat_from_start", finding, suggestions)


def _stays_high(e: Evidence) -> tuple[float, float] | None:
    """(first, lowest) train loss of a completed run whose loss never fell below HIGH_FRACTION of its first."""
    loss = [v for v in e.train_loss if math.isfinite(v)]
    if e.summary.get("status") != "completed" or len(loss) < 3 or loss[0] <= 0:
        return None
    return (loss[0], min(loss)) if min(loss) >= HIGH_FRACTION * loss[0] else None


def too_small(e: Evidence) -> Advice | None:
    """A linear model or one with a layer narrower than SMALL_WIDTH whose train loss stays above half its start,
    with no train/val gap: it cannot fit even the training data (underfitting); more capacity, not more epochs."""
    high, width, depth = _stays_high(e), e.facts.get("width"), e.facts.get("depth")
    narrow = isinstance(width, int) and width < SMALL_WIDTH
    if high is None or not (narrow or depth == 0):
        return None
    val = [v for v in e.val_loss if math.isfinite(v)]
    if val and min(val) > GAP_RATIO * high[1] and min(val) - high[1] > GAP_ABSOLUTE:
        return None  # a gap: it fits the training data, so capacity is not what is missing
    suggestions = []
    if narrow:
        suggestions.append(Suggestion("model.width", 64, f"{width} units are too few to fit the data", high[1]))
    if isinstance(depth, int):
        suggestions.append(Suggestion("model.depth", depth + 1, "one more hidden layer", high[1]))
    shape = "a linear model" if depth == 0 else f"{width} units a layer"
    finding = f"underfitting with {shape}: train loss only {high[0]:.4g} -> {high[1]:.4g} ({high[1] / high[0]:.0%})"
    return Advice("too_small", finding, suggestions)


def slow_learning(e: Evidence) -> Advice | None:
    """Every epoch used (at least SLOW_MIN_EPOCHS), the validation metric best at the end, yet the train loss still
    above half its start: it is learning, too slowly (a too-low lr). Below FLAT_FRACTION of a fall flat_from_start
    speaks instead."""
    high, max_epochs = _stays_high(e), e.facts.get("max_epochs")
    runs = e.summary.get("epochs_run", len(e.train_loss))
    if high is None or not max_epochs or runs < max(max_epochs, SLOW_MIN_EPOCHS):
        return None
    best = e.summary.get("best_epoch")
    if not isinstance(best, int) or best < runs - max(2, runs // 5) or (high[0] - high[1]) / high[0] < FLAT_FRACTION:
        return None
    lr = e.facts.get("lr")
    suggestions = [] if _lr_auto(e) else [Suggestion("optimizer.lr", "auto", "let a range test pick it", high[1])]
    if isinstance(lr, int | float) and not isinstance(lr, bool):
        suggestions.append(Suggestion("optimizer.lr", float(f"{lr * 10:.3g}"), "ten times the lr", float(lr)))
    finding = (
        f"learning slowly: train loss {high[0]:.4g} -> {high[1]:.4g} ({high[1] / high[0]:.0%}) in all {runs} epochs, "
        "validation still improving"
    )
    return Advice("slow_learning", finding, suggestions)


def large_gap(e: Evidence) -> Advice | None:
    pairs = [(t, v) for t, v in zip(e.train_loss, e.val_loss, strict=False) if math.isfinite(t) and math.isfinite(v)]
    if not pairs:
        return None
    best = e.summary.get("best_epoch")
    train, val = pairs[best] if isinstance(best, int) and best < len(pairs) else pairs[-1]
    if val - train <= GAP_ABSOLUTE or val <= GAP_RATIO * train:
        return None
    dropout, width = e.facts.get("dropout") or 0.0, e.facts.get("width")
    gap = val - train
    suggestions = [
        Suggestion("regularization.dropout", float(f"{min(dropout + 0.2, 0.5):.2g}"), "more dropout", gap),
        Suggestion("regularization.weight_decay", 1e-4, "some weight decay", gap),
    ]
    if isinstance(width, int) and width > 1:
        suggestions.append(Suggestion("model.width", width // 2, "half the width: less capacity", gap))
    return Advice("large_gap", f"large train/val gap (train loss {train:.4g}, val loss {val:.4g})", suggestions)


def dead_units(e: Evidence) -> Advice | None:
    dead = {
        name: entry["stats"]["dead_frac"][-1] for name, entry in e.monitor.items() if entry["stats"].get("dead_frac")
    }
    worst = max(dead.items(), key=lambda item: item[1], default=None)
    if worst is None or worst[1] <= DEAD_FRACTION:
        return None
    suggestions = [
        Suggestion("model.activation", "leaky_relu", "no zero-gradient region", worst[1]),
        Suggestion("model.activation", "elu", "no zero-gradient region", worst[1]),
        Suggestion("model.bias_init", 0.01, "start every unit active", worst[1]),
    ]
    return Advice("dead_units", f"{worst[1]:.0%} of the units of {worst[0]} are dead ReLUs", suggestions)


def exploding_gradients(e: Evidence) -> Advice | None:
    """A sudden jump of a layer's gradient norm: EXPLODING_RATIO times the median of its norms before it (and above
    EXPLODING_ABSOLUTE), or a non-finite one. Measured against the earlier norms, not all of them: a healthy run's
    largest gradients come first and shrink as it converges, which is no explosion."""
    if e.facts.get("gradient_clip_val") is not None:
        return None
    for name, entry in e.monitor.items():
        norms = [v for v in entry["stats"].get("grad_norm", []) if v is not None]
        if len(norms) < 3:
            continue
        jumps = [(norm, statistics.median(norms[:i])) for i, norm in enumerate(norms) if i >= 1]
        spike = any(norm > EXPLODING_ABSOLUTE and norm > EXPLODING_RATIO * max(before, 1e-12) for norm, before in jumps)
        if spike or not all(math.isfinite(v) for v in norms):
            typical, peak = statistics.median(norms), max(norms)
            finding = f"exploding gradient norm in {name} (typical {typical:.3g}, peak {peak:.3g})"
            suggestions = [
                Suggestion("trainer.gradient_clip_val", 1.0, "cap the gradient norm", peak),
                Suggestion("model.batchnorm", True, "normalize the activations", peak),
            ]
            return Advice("exploding_gradients", finding, suggestions)
    return None


def symmetry(e: Evidence) -> Advice | None:
    tied = {
        n: int(entry["stats"]["identical_units"][-1])
        for n, entry in e.monitor.items()
        if entry["stats"].get("identical_units")
    }
    tied = {name: count for name, count in tied.items() if count > 0}
    if not tied:
        return None
    where = ", ".join(f"{name}: {count}" for name, count in tied.items())
    count = float(sum(tied.values()))
    return Advice(
        "symmetry",
        f"identical units (symmetric init) in {where}",
        [Suggestion("model.init", "auto", "a random init breaks the symmetry", count)],
    )


def unscaled_features(e: Evidence) -> Advice | None:
    spread = e.summary.get("feature_spread")
    if e.facts.get("scaling") != "none" or not spread or spread <= SPREAD_RATIO:
        return None
    finding = f"features on very different scales (std ratio {spread:.3g}) with scaling=none"
    suggestion = Suggestion("scaling", "standard", "one scale for every feature", spread)
    return Advice("unscaled_features", finding, [suggestion])


def outlier_targets(e: Evidence) -> Advice | None:
    """A regression target with heavy tails trained with MSE: the squared errors of a few rows dominate the loss."""
    tails = e.summary.get("target_tails")
    if e.summary.get("task") != "regression" or e.summary.get("loss") != "mse" or not tails or tails < TAIL_FRACTION:
        return None
    finding = f"{tails:.1%} of the train targets lie beyond {TAIL_Z:g} robust standard deviations, with loss=mse"
    suggestions = [
        Suggestion("loss", "huber", "squared near zero, linear for the outliers", tails),
        Suggestion("loss", "mae", "every row counts by its absolute error", tails),
    ]
    return Advice("outlier_targets", finding, suggestions)


RULES: tuple[Callable[[Evidence], Advice | None], ...] = (
    diverged,
    exploding_gradients,  # a gradient spike names its own fix (clipping) before the lr rules speak
    best_epoch_first,
    unscaled_features,
    outlier_targets,
    dead_units,
    symmetry,
    too_small,
    flat_from_start,
    slow_learning,
    still_improving,
    large_gap,
)


def diagnose(evidence: Evidence) -> list[Advice]:
    return [advice for rule in RULES if (advice := rule(evidence)) is not None]


def valid_for(advice: Advice, overrides: list[str] | None, config: Mapping[str, Any] | None) -> Advice:
    """The advice with only the suggestions this run's config can take; the others under `rejected`."""
    kept, rejected = [], []
    for suggestion in advice.suggestions:
        why = rejection(suggestion, overrides, config)
        if why is None:
            kept.append(suggestion)
        else:
            rejected.append({"override": suggestion.override, "why": why})
    return Advice(advice.rule, advice.finding, kept, rejected)


def advise(run_dir: str | Path, facts: dict[str, Any] | None = None) -> list[Advice]:
    """Diagnose a run directory, check every suggestion against the run's config, log the advice and write
    doctor.json next to the run's other files."""
    run_dir = Path(run_dir)
    evidence = read_run(run_dir, facts)
    overrides, config = run_overrides(run_dir), _saved_config(run_dir)
    advice = [valid_for(item, overrides, config) for item in diagnose(evidence)]
    for item in advice:
        log.info("doctor: %s", item.line())
    write_json_atomic(run_dir / "doctor.json", {"facts": evidence.facts, "advice": [a.as_json() for a in advice]})
    return advice


def main(argv: list[str]) -> int:
    """`levers doctor <run dir> [--verify]`: prints the advice (and with --verify, which of it helped in a trial);
    exit 0 (advice or none), 2 when the directory is no run or its overrides cannot be replayed."""
    parser = argparse.ArgumentParser(prog="levers doctor", description="Advice from a run directory's files.")
    parser.add_argument("run_dir", type=Path, help="a run directory (with summary.json)")
    parser.add_argument("--verify", action="store_true", help="rerun the run with each top suggestion applied")
    parser.add_argument("--top", type=_positive, default=DEFAULT_TOP, help="suggestions to try (default 3)")
    parser.add_argument("--epochs", type=_positive, default=DEFAULT_EPOCHS, help="each trial's budget (default 10)")
    args = parser.parse_args(argv)
    if not (args.run_dir / "summary.json").exists():
        usage = "usage: levers doctor <run dir> [--verify] [--top K] [--epochs N]"
        print(f"{usage}   ({args.run_dir} has no summary.json: no run directory)", file=sys.stderr)
        return 2
    advice = advise(args.run_dir)
    for item in advice:
        print(f"doctor: {item.line()}")
    if not advice:
        print("doctor: no problems found")
    if args.verify and advice:
        return _verify(args.run_dir, advice, args.top, args.epochs)
    return 0


def _verify(run_dir: Path, advice: list[Advice], top: int, epochs: int) -> int:
    overrides = run_overrides(run_dir)
    if overrides is None:
        print(f"levers doctor: {run_dir} has no .hydra/overrides.yaml to rerun the run from", file=sys.stderr)
        return 2
    try:
        verified = verify(run_dir, overrides, [s for item in advice for s in item.suggestions], top, epochs)
    except UnsafeOverrides as error:
        print(f"levers doctor: {error}", file=sys.stderr)
        return 2
    report = _read_json(run_dir / "doctor.json")
    write_json_atomic(run_dir / "doctor.json", {**report, "verified": verified})
    for line in verdict_lines(verified):
        print(line)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: a whole number >= 1")
    return value
