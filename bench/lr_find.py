"""Prints, per optimizer and data set, the lr each range-test rule picks (and what `optimizer.lr=auto` trains with)
against a 7-point lr grid, every lr trained for the same few epochs: the measurements behind the default
`diagnostics.lr_find.suggestion`. Writes bench/results/lr_find.json. Not part of the test suite.

    PYTHONPATH=src python bench/lr_find.py [epochs] [optimizer ...]
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from levers.build import build
from levers.errors import LeversRunFailed
from levers.run import run_diagnostic, train
from tests.conftest import compose_cfg

DATA = ("digits", "breast_cancer", "wage", "diabetes")
GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
RULES = ("valley", "minimum_tenth", "steepest", "half_divergence")
RESULTS = Path(__file__).resolve().parent / "results" / "lr_find.json"


def score(overrides: list[str]) -> float:
    """The test metric (accuracy, or R2 for regression) of a run; -inf when it diverged."""
    with tempfile.TemporaryDirectory() as out:
        cfg = compose_cfg(Path(out), *overrides)
        try:
            train(cfg)
        except LeversRunFailed:
            return float("-inf")
        test = json.loads((Path(out) / "summary.json").read_text())["test"]
    return test.get("test/acc", test.get("test/r2", float("nan")))


def range_test(overrides: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as out:
        cfg = compose_cfg(Path(out), "mode=lr_find", *overrides)
        run_diagnostic(cfg, build(cfg))
        return json.loads((Path(out) / "lr_find.json").read_text())


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    optimizers = sys.argv[2:] or ["adam", "sgd"]
    logging.disable(logging.WARNING)
    rows = []
    head = f"{'optimizer':<9} {'data':<14} {'grid best':>16} {'auto (trusted?)':>24} "
    print(head + " ".join(f"{r:>22}" for r in RULES))
    for optimizer in optimizers:
        for data in DATA:
            base = [f"data={data}", f"optimizer={optimizer}", f"trainer.max_epochs={epochs}"]
            base.append("callbacks.early_stopping=null")
            grid = {lr: score([*base, f"optimizer.lr={lr}"]) for lr in GRID}
            found = range_test(base)
            picks = {rule: found[f"{rule}_lr"] for rule in RULES}
            scores = {rule: score([*base, f"optimizer.lr={lr!r}"]) if lr else None for rule, lr in picks.items()}
            auto = score([*base, f"optimizer.lr={found['suggested_lr']!r}"])
            best = max(grid, key=grid.get)
            row = {
                "optimizer": optimizer,
                "data": data,
                "epochs": epochs,
                "grid": grid,
                "grid_best_lr": best,
                "auto_lr": found["suggested_lr"],
                "auto_score": auto,
                "trusted": found["trusted"],
                "confidence": found["confidence"],
                "drop": found["drop"],
                "picks": picks,
                "pick_scores": scores,
            }
            rows.append(row)
            cells = " ".join(
                f"{(picks[r] or 0):>9.2g} -> {scores[r] if scores[r] is not None else float('nan'):>7.3f}     "
                for r in RULES
            )
            print(
                f"{optimizer:<9} {data:<14} {best:>7.2g} -> {grid[best]:>6.3f} "
                f"{found['suggested_lr']:>8.2g} ({'yes' if found['trusted'] else 'no '}) -> {auto:>6.3f}  {cells}",
                flush=True,
            )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=1))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
