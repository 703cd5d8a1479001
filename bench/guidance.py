"""Is levers' guidance right? Three measurements (issue 14, part 5), every run a real levers run, in process.

1. `optimizer.lr=auto` against a 7-point log-spaced lr grid (1e-4 ... 1e-1), per data set, for Adam and SGD, the
   same max_epochs and early stopping for every run. Metric: the final *validation* metric (val/acc, val/r2: the
   runs monitor it with monitor_mode=max, so summary.json's best_value is that metric at the best epoch). Goal: auto
   within 1% (relative) of the grid's best everywhere, and the range test's pick never at its range's edge.
2. The doctor on planted faults: each fault is run, `advise(run_dir)` read; "names the fault first" = the first
   advice is the rule expected for that fault (EXPECTED below); then the run's overrides plus the top suggestion,
   same budget, and whether the validation metric (at the best epoch of val/loss, read from metrics.csv) improved.
   Goal: 8/8 named first, >= 7/8 improved.
3. `levers auto` against a 20-point grid (lr x (depth, width) x dropout), the grid's points at the same max_epochs
   with early stopping; the autopilot gets a fifth of the epochs the grid used. Each side's validation-selected
   best (val/loss, levers' default monitor, for both) is compared on its *test* metric. Goal: within 0.5 points of
   accuracy, or within 2% of the grid's test R2 (relative) for regression, at <= 1/5 of the grid's epochs.

No choice anywhere reads the test split; test metrics appear only in part 3's comparison. Writes
bench/results/guidance.json (guidance_quick.json with --quick). Not part of the test suite.

    OMP_NUM_THREADS=1 .venv/bin/python bench/guidance.py [--quick] [--parts 1,2,3] [--data digits,wine]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from overhead import quiet  # bench/overhead.py

from levers.autopilot.steps import Budget, autopilot, merged
from levers.diagnostics.doctor import advise
from levers.errors import LeversRunFailed

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SEED = 42
CLASSIFICATION = ("digits", "breast_cancer", "wine")
DATA = ("digits", "breast_cancer", "wine", "diabetes", "wage", "randhie")
LIMITS = {"randhie": 5000}  # rows used (of 20,190): keeps the whole bench under ~35 minutes on 2 shared cores
LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
GRID3_LR = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
GRID3_SHAPES = ((1, 64), (2, 256))
GRID3_DROPOUT = (0.0, 0.2)


def metric_of(data: str) -> str:
    return "acc" if data in CLASSIFICATION else "r2"


def data_overrides(data: str) -> list[str]:
    limit = LIMITS.get(data)
    return [f"data={data}", *([f"data.limit={limit}"] if limit else [])]


# --- one run -------------------------------------------------------------------------------------------------


def train_run(overrides: list[str], run_dir: Path) -> dict[str, Any]:
    """One levers run (levers.api.train: writes .hydra/ as the command line, so the doctor can replay it); a
    diverged run is recorded, not raised."""
    from levers.api import train

    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr), contextlib.suppress(LeversRunFailed, FloatingPointError):
        train(*overrides, f"seed={SEED}", "quiet=true", run_dir=run_dir)
    seconds = time.perf_counter() - started
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {"status": "failed"}
    return {"run_dir": str(run_dir), "seconds": seconds, "summary": summary, "overrides": overrides}


def val_at_best(run_dir: Path, key: str) -> float:
    """`key` (e.g. val/acc) at the run's best epoch (the monitored metric's), from its metrics.csv; nan if none."""
    summary_path, csv_path = run_dir / "summary.json", run_dir / "metrics.csv"
    if not summary_path.exists() or not csv_path.exists():
        return float("nan")
    best = json.loads(summary_path.read_text()).get("best_epoch")
    if best is None:
        return float("nan")
    with csv_path.open(newline="") as file:
        for row in csv.DictReader(file):
            if row.get(key) and row.get("epoch") and int(float(row["epoch"])) == int(best):
                return float(row[key])
    return float("nan")


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def fmt(value: Any, spec: str = ".4f") -> str:
    return format(value, spec) if finite(value) else "  n/a "


# --- part 1: lr=auto vs an lr grid ---------------------------------------------------------------------------


def part1(datasets: list[str], epochs: int, folder: Path) -> list[dict[str, Any]]:
    rows = []
    print(f"\n1. optimizer.lr=auto vs a 7-point lr grid: final validation metric, max_epochs={epochs}, early stopping")
    head = f"{'opt':<5} {'data':<14} {'metric':<7} {'grid best lr':>12} {'grid best':>9} {'auto lr':>9} "
    print(head + f"{'range test':<10} {'edge':<5} {'auto':>7} {'rel gap':>8} {'better':>6}  within 1%")
    for optimizer in ("adam", "sgd"):
        for data in datasets:
            key = f"val/{metric_of(data)}"
            base = [*data_overrides(data), f"optimizer={optimizer}", f"trainer.max_epochs={epochs}"]
            base += ["callbacks.early_stopping.patience=10", f"monitor={key}", "monitor_mode=max"]
            grid = {}
            for lr in LR_GRID:
                run = train_run([*base, f"optimizer.lr={lr}"], folder / f"p1_{optimizer}_{data}_{lr:g}")
                grid[lr] = run["summary"].get("best_value") if run["summary"].get("status") == "completed" else None
            auto = train_run([*base, "optimizer.lr=auto"], folder / f"p1_{optimizer}_{data}_auto")
            found = auto["summary"].get("lr_auto", {})
            lr_find = Path(auto["run_dir"]) / "lr_find.json"
            detail = json.loads(lr_find.read_text()) if lr_find.exists() else {}
            doubts = found.get("doubts", [])
            edge = any("edge" in d for d in doubts)
            value = auto["summary"].get("best_value") if auto["summary"].get("status") == "completed" else None
            scored = {lr: v for lr, v in grid.items() if finite(v)}
            best_lr = max(scored, key=scored.get) if scored else None
            best = scored.get(best_lr) if best_lr else None
            gap = (best - value) / abs(best) if finite(best) and finite(value) and best else float("nan")
            beaten_by = sum(1 for v in scored.values() if finite(value) and v > value)  # grid points better than auto
            row = {
                "optimizer": optimizer,
                "data": data,
                "metric": key,
                "epochs": epochs,
                "grid": {f"{lr:g}": v for lr, v in grid.items()},
                "grid_best_lr": best_lr,
                "grid_best": best,
                "auto_lr": found.get("lr"),
                "auto_rule": found.get("suggestion"),
                "auto_rule_lr": detail.get("rule_lr"),
                "trusted": found.get("trusted"),
                "fell_back": not found.get("trusted", False),
                "confidence": found.get("confidence"),
                "doubts": doubts,
                "edge": edge,
                "auto": value,
                "auto_epochs": auto["summary"].get("epochs_run"),
                "relative_gap": gap,
                "grid_points_better": beaten_by,
                "within_1pct": bool(finite(gap) and gap <= 0.01),
            }
            rows.append(row)
            trust = "trusted" if row["trusted"] else "fell back"
            print(
                f"{optimizer:<5} {data:<14} {key:<7} {best_lr or float('nan'):>12.0e} {fmt(best):>9} "
                f"{fmt(row['auto_lr'], '.3g'):>9} {trust:<10} {'yes' if edge else 'no':<5} {fmt(value):>7} "
                f"{fmt(100 * gap, '+.2f') + '%':>8} {beaten_by:>4}/7  {'yes' if row['within_1pct'] else 'NO'}",
                flush=True,
            )
    met = all(r["within_1pct"] for r in rows)
    no_edge = not any(r["edge"] for r in rows)
    print(
        f"goal: auto within 1% of the grid's best on every set: {'MET' if met else 'MISSED'} "
        f"({sum(r['within_1pct'] for r in rows)}/{len(rows)}); pick never at the range's edge: "
        f"{'MET' if no_edge else 'MISSED'} ({sum(r['edge'] for r in rows)} at an edge); "
        f"range test fell back to the default lr in {sum(r['fell_back'] for r in rows)}/{len(rows)}"
    )
    print("  'better': grid points whose validation metric beats auto's (the grid's best is a max over 7 runs)")
    return rows


# --- part 2: the doctor on planted faults --------------------------------------------------------------------


def outlier_csv(folder: Path) -> Path:
    """sklearn's diabetes table with 5% of its target values multiplied by 100 (planted outliers)."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    rng = np.random.default_rng(SEED)
    rows = rng.choice(len(frame), size=max(1, len(frame) // 20), replace=False)
    frame.loc[frame.index[rows], "target"] *= 100.0
    path = folder / "diabetes_outliers.csv"
    frame.to_csv(path, index=False)
    return path


def faults(folder: Path) -> list[dict[str, Any]]:
    """Each planted fault: its data, its overrides, the doctor rules that name it, and the validation metric judged
    (key, and whether higher is better)."""
    monitor = ["callbacks=monitor", "callbacks.monitor.every_n_steps=5"]
    outliers = ["data=table", f"data.path={outlier_csv(folder)}", "data.target=target", "loss=mse"]
    return [
        {"fault": "lr 100x too high", "overrides": ["data=digits", "optimizer=sgd", "optimizer.lr=1.0"],
         "expected": ["diverged", "best_epoch_first"], "metric": "val/acc", "higher": True},
        {"fault": "lr 1000x too low", "overrides": ["data=digits", "optimizer.lr=1e-6"],
         "expected": ["flat_from_start", "slow_learning"], "metric": "val/acc", "higher": True},
        {"fault": "unscaled features", "overrides": ["data=wine", "scaling=none"],
         "expected": ["unscaled_features"], "metric": "val/acc", "higher": True},
        {"fault": "model far too small", "overrides": ["data=digits", "model.depth=1", "model.width=1"],
         "expected": ["too_small"], "metric": "val/acc", "higher": True},
        {"fault": "overfitting, no regularization",
         "overrides": ["data=diabetes", "data.limit=150", "data.batch_size=8", "regularization=none",
                       "model.depth=3", "model.width=1024"],
         "expected": ["large_gap"], "metric": "val/r2", "higher": True},
        {"fault": "dead ReLUs (bias_init=-10)", "overrides": ["data=digits", "model.bias_init=-10", *monitor],
         "expected": ["dead_units"], "metric": "val/acc", "higher": True},
        {"fault": "exploding gradients, RNN",
         "overrides": ["data=digits", "model=rnn", "optimizer=sgd", "optimizer.lr=1.0", *monitor],
         "expected": ["exploding_gradients"], "metric": "val/acc", "higher": True,
         "known_fix": "trainer.gradient_clip_val=1.0"},
        {"fault": "target outliers, mse", "overrides": outliers,
         "expected": ["outlier_targets"], "metric": "val/mae", "higher": False, "known_fix": "loss=huber"},
    ]  # fmt: skip


def part2(epochs: int, folder: Path) -> list[dict[str, Any]]:
    rows = []
    print(f"\n2. the doctor on planted faults: max_epochs={epochs}, early stopping (patience 10), the same for the fix")
    print(
        f"{'fault':<31} {'first advice':<20} {'named':<5} {'top suggestion':<36} "
        f"{'metric':<7} {'fault':>8} {'fixed':>8}  improved"
    )
    for number, fault in enumerate(faults(folder), 1):
        budget = [f"trainer.max_epochs={epochs}", "callbacks.early_stopping.patience=10"]
        overrides = [*fault["overrides"], *budget]
        run = train_run(overrides, folder / f"p2_{number}")
        advice = advise(run["run_dir"])
        first = advice[0].rule if advice else None
        top = next((s for a in advice for s in a.suggestions), None)
        before = val_at_best(Path(run["run_dir"]), fault["metric"])
        after, fixed = float("nan"), None
        if top is not None:
            fixed = train_run(merged(overrides, [top.override]), folder / f"p2_{number}_fix")
            after = val_at_best(Path(fixed["run_dir"]), fault["metric"])
        known = {}
        if first not in fault["expected"] and fault.get("known_fix"):  # missed: would the textbook fix have helped?
            run_fix = train_run(merged(overrides, [fault["known_fix"]]), folder / f"p2_{number}_known")
            known = {
                "known_fix": fault["known_fix"],
                "known_fix_value": val_at_best(Path(run_fix["run_dir"]), fault["metric"]),
            }
        if not finite(before):  # a diverged run has no best epoch: anything finite is better
            improved = finite(after)
        else:
            improved = finite(after) and (after > before if fault["higher"] else after < before)
        row = {
            **{k: fault[k] for k in ("fault", "overrides", "expected", "metric")},
            "status": run["summary"].get("status"),
            "advice": [{"rule": a.rule, "finding": a.finding, "overrides": a.overrides} for a in advice],
            "first_rule": first,
            "named_first": first in fault["expected"],
            "top_suggestion": top.override if top else None,
            "fault_value": before,
            "fixed_value": after,
            "fixed_status": fixed["summary"].get("status") if fixed else None,
            "improved": bool(improved),
            **known,
        }
        rows.append(row)
        print(
            f"{fault['fault']:<31} {first or '(none)':<20} {'yes' if row['named_first'] else 'NO':<5} "
            f"{row['top_suggestion'] or '(none)':<36} {fault['metric']:<7} {fmt(before):>8} {fmt(after):>8}  "
            f"{'yes' if improved else 'NO'}",
            flush=True,
        )
    for row in rows:
        if "known_fix" in row:
            print(
                f"  missed '{row['fault']}': the doctor's first advice was {row['first_rule'] or 'none'}; "
                f"the textbook fix {row['known_fix']} "
                f"gives {row['metric']} {fmt(row['known_fix_value'])} (fault {fmt(row['fault_value'])})"
            )
    named, improved = sum(r["named_first"] for r in rows), sum(r["improved"] for r in rows)
    print(
        f"goal: names the fault first in {len(rows)}/{len(rows)}: {'MET' if named == len(rows) else 'MISSED'} "
        f"({named}/{len(rows)}); the top suggestion improves validation in >= {len(rows) - 1}/{len(rows)}: "
        f"{'MET' if improved >= len(rows) - 1 else 'MISSED'} ({improved}/{len(rows)})"
    )
    return rows


# --- part 3: autopilot vs a 20-point grid --------------------------------------------------------------------


def part3(datasets: list[str], epochs: int, folder: Path) -> list[dict[str, Any]]:
    rows = []
    print(
        f"\n3. levers auto vs a 20-point grid (lr x (depth, width) x dropout), grid points max_epochs={epochs}, "
        "early stopping; both select on val/loss, compared on the test metric"
    )
    print(
        f"{'data':<14} {'metric':<7} {'grid test':>9} {'epochs':>6} {'s':>6} {'auto test':>9} {'epochs':>6} "
        f"{'s':>6} {'auto/grid ep':>12} {'diff':>8}  goal"
    )
    patience = max(5, min(20, epochs // 5))  # the autopilot's own rule for a step of this many epochs
    for data in datasets:
        metric = metric_of(data)
        points, started = [], time.perf_counter()
        for lr in GRID3_LR:
            for depth, width in GRID3_SHAPES:
                for dropout in GRID3_DROPOUT:
                    shape = [f"optimizer.lr={lr}", f"model.depth={depth}", f"model.width={width}"]
                    shape.append(f"regularization.dropout={dropout}")
                    name = f"p3_{data}_{lr:g}_{depth}x{width}_{dropout:g}"
                    extra = [f"trainer.max_epochs={epochs}", f"callbacks.early_stopping.patience={patience}"]
                    run = train_run([*data_overrides(data), *shape, *extra], folder / name)
                    s = run["summary"]
                    points.append({
                        "overrides": shape,
                        "val": s.get("best_value") if s.get("status") == "completed" else None,
                        "test": s.get("test", {}).get(f"test/{metric}"),
                        "epochs": int(s.get("epochs_run", 0)),
                    })  # fmt: skip
        grid_s = time.perf_counter() - started
        grid_epochs = sum(p["epochs"] for p in points)
        best = min((p for p in points if finite(p["val"])), key=lambda p: p["val"])
        budget = max(10, grid_epochs // 5)
        started = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):
            pilot = autopilot(data_overrides(data), Budget(budget, "epochs"), folder / f"p3_{data}_auto")
        auto_s = time.perf_counter() - started
        auto_epochs = int(pilot.spent())
        summary = json.loads((Path(pilot.best.run_dir) / "summary.json").read_text()) if pilot.best else {}
        auto_test = summary.get("test", {}).get(f"test/{metric}")
        if metric == "acc":
            diff = 100 * (auto_test - best["test"])  # accuracy points
            ok_metric = diff >= -0.5
        else:
            diff = 100 * (auto_test - best["test"]) / abs(best["test"])  # % of the grid's test R2
            ok_metric = diff >= -2.0
        ok = bool(ok_metric and auto_epochs <= grid_epochs / 5)
        row = {
            "data": data,
            "metric": f"test/{metric}",
            "grid_epochs_each": epochs,
            "grid_patience": patience,
            "grid": points,
            "grid_best": best,
            "grid_epochs": grid_epochs,
            "grid_seconds": grid_s,
            "auto_budget_epochs": budget,
            "auto_epochs": auto_epochs,
            "auto_seconds": auto_s,
            "auto_test": auto_test,
            "auto_best_step": pilot.best.name if pilot.best else None,
            "auto_best_overrides": pilot.best.overrides if pilot.best else None,
            "auto_steps": [
                {"name": s.name, "overrides": s.overrides, "value": s.value, "epochs": s.epochs, "kept": s.kept}
                for s in pilot.steps
            ],
            "diff": diff,
            "diff_unit": "accuracy points" if metric == "acc" else "% of the grid's test r2",
            "goal_met": ok,
        }
        rows.append(row)
        unit = "pt" if metric == "acc" else "%"
        print(
            f"{data:<14} test/{metric:<2} {best['test']:>9.4f} {grid_epochs:>6} {grid_s:>6.0f} {fmt(auto_test):>9} "
            f"{auto_epochs:>6} {auto_s:>6.0f} {auto_epochs / grid_epochs:>12.2f} {diff:>+7.2f}{unit:<2} "
            f"{'yes' if ok else 'NO'}",
            flush=True,
        )
    met = sum(r["goal_met"] for r in rows)
    print(
        f"goal: within 0.5 accuracy points (regression: 2% of the grid's test R2) of the grid's best at <= 1/5 of "
        f"its epochs: {'MET' if met == len(rows) else 'MISSED'} ({met}/{len(rows)})"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits and diabetes, fewer epochs: a few minutes")
    parser.add_argument("--parts", default="1,2,3")
    parser.add_argument("--data", default=None, help=f"comma-separated, of {','.join(DATA)}")
    parser.add_argument("--epochs1", type=int, default=None, help="part 1's max_epochs (default 30; quick 10)")
    parser.add_argument("--epochs2", type=int, default=None, help="part 2's max_epochs (default 40; quick 15)")
    parser.add_argument("--epochs3", type=int, default=None, help="part 3's max_epochs (default 60; quick 20)")
    args = parser.parse_args()
    quick = args.quick
    datasets = args.data.split(",") if args.data else (["digits", "diabetes"] if quick else list(DATA))
    parts = {int(p) for p in args.parts.split(",")}
    epochs1 = args.epochs1 or (10 if quick else 30)
    epochs2 = args.epochs2 or (15 if quick else 40)
    epochs3 = args.epochs3 or (20 if quick else 60)
    quiet()
    torch.set_num_threads(1)
    started = time.perf_counter()
    record: dict[str, Any] = {
        "machine": "2-core shared CPU machine, 1 torch thread",
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "seed": SEED,
        "seeds": [SEED],
        "data": datasets,
        "limits": {d: LIMITS[d] for d in datasets if d in LIMITS},
        "epochs": {"part1": epochs1, "part2": epochs2, "part3": epochs3},
        "quick": quick,
    }
    limited = ", ".join(f"{d}: data.limit={n} rows" for d, n in record["limits"].items())
    print(f"seed {SEED} (one seed); data: {', '.join(datasets)}" + (f"; {limited}" if limited else ""))
    with tempfile.TemporaryDirectory(prefix="levers_guidance_") as tmp:
        folder = Path(tmp)
        if 1 in parts:
            record["part1"] = part1(datasets, epochs1, folder)
        if 2 in parts:
            record["part2"] = part2(epochs2, folder)
        if 3 in parts:
            record["part3"] = part3(datasets, epochs3, folder)
    record["seconds"] = time.perf_counter() - started
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("guidance_quick.json" if quick else "guidance.json")
    # a run of some parts keeps the file's other parts (each part records the settings it ran with)
    kept = json.loads(out.read_text()) if out.exists() and parts != {1, 2, 3} else {}
    for part in parts:
        settings = {key: value for key, value in record.items() if not key.startswith("part")}
        kept[f"part{part}"] = {"settings": settings, "rows": record[f"part{part}"]}
    kept = {key: kept[key] for key in sorted(kept)}
    out.write_text(json.dumps(kept, indent=1, default=str))
    print(f"\ntotal {record['seconds'] / 60:.1f} min; wrote {out}")


if __name__ == "__main__":
    main()
