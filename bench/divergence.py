"""The measurements behind the divergence guard's rule (README, "Why 1e4x the first loss"): every training step's
loss of healthy runs at sane learning rates (seeds 0-4 and 42) and of runs at learning rates beyond them (seed 42),
guard off, 30 epochs; per run the peak over the first loss (the rule's reference), the largest rise over the best
loss so far (the reference it rejects) and the test metrics.

    .venv/bin/python bench/divergence.py      # ~8 min on 2 cores; writes bench/results/divergence.json
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from levers.callbacks.guard import _step_losses  # noqa: E402
from levers.run import train  # noqa: E402
from tests.conftest import compose_cfg  # noqa: E402

CASES = [
    ("digits", "optimizer=adam optimizer.lr=0.001"),
    ("digits", "optimizer=adam optimizer.lr=0.01"),
    ("digits", "optimizer=sgd optimizer.lr=0.01"),
    ("digits", "optimizer=sgd optimizer.lr=0.05"),
    ("digits", "optimizer=adam optimizer.lr=0.01 scheduler=onecycle"),
    ("wine", "optimizer=adam optimizer.lr=0.001"),
    ("wine", "optimizer=adam optimizer.lr=0.01"),
    ("wine", "optimizer=sgd optimizer.lr=0.1"),
    ("breast_cancer", "optimizer=adam optimizer.lr=0.01"),
    ("wage", "optimizer=adam optimizer.lr=0.01"),
    ("diabetes", "optimizer=adam optimizer.lr=0.001"),
    ("diabetes", "optimizer=adam optimizer.lr=0.01"),
    ("diabetes", "optimizer=sgd optimizer.lr=0.01"),
    ("diabetes", "optimizer=adam optimizer.lr=0.01 loss=huber"),
    ("diabetes", "optimizer=adam optimizer.lr=0.001 data.target_scaling=none"),
]
BEYOND_SANE_LRS = [  # unstable (SGD 0.1: spikes past 1e4x on 3 of 6 seeds) to diverging
    ("digits", "optimizer=sgd optimizer.lr=0.1"),
    ("wine", "optimizer=adam optimizer.lr=1.0"),
    ("diabetes", "optimizer=sgd optimizer.lr=0.05"),
    ("digits", "optimizer=sgd optimizer.lr=1.0"),
    ("digits", "optimizer=adam optimizer.lr=1e10"),
]


class StepLosses(pl.Callback):
    fused_steps_safe = True

    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_batch_end(self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, *_: Any) -> None:
        losses = _step_losses(outputs)
        if losses is not None:
            self.losses += losses.tolist()


def measure(data: str, overrides: str, out: Path) -> dict[str, Any]:
    record = StepLosses()
    guard_off = "callbacks.nonfinite_guard=null"
    cfg = compose_cfg(out, f"data={data}", "trainer.max_epochs=30", guard_off, *overrides.split())
    train(cfg, extra_callbacks=[record])
    test = json.loads((out / "summary.json").read_text()).get("test", {})
    finite = [loss for loss in record.losses if math.isfinite(loss)]
    rises, best = [], math.inf
    for loss in finite:
        best = min(best, loss)
        rises.append(loss / max(best, 1e-12))
    return {
        "data": data,
        "overrides": overrides,
        "steps": len(record.losses),
        "first_loss": record.losses[0],
        "peak_over_first": max(finite) / record.losses[0],
        "peak_over_best_so_far": max(rises),
        "non_finite_steps": len(record.losses) - len(finite),
        "test": test,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = [(d, f"{o} seed={seed}") for d, o in CASES for seed in (0, 1, 2, 3, 4, 42)]
        runs += [(d, f"{o} seed=42") for d, o in BEYOND_SANE_LRS]
        rows = [measure(data, overrides, Path(tmp) / str(i)) for i, (data, overrides) in enumerate(runs)]
    for row in rows:
        first, best = row["peak_over_first"], row["peak_over_best_so_far"]
        print(f"{row['data']:>14} {row['overrides']:<62} {first:10.3g} {best:10.3g}", row["test"], flush=True)
    (ROOT / "bench" / "results" / "divergence.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
