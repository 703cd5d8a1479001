"""Prints (and writes to bench/results/compile.json) what `trainer.compile=true` does to a digits run's speed: the
first epoch (which pays for compiling) and the mean of the later ones, with and without compile, for the MLP and the
CNN. Not part of the test suite.

    PYTHONPATH=src python bench/compile.py [epochs]
"""

from __future__ import annotations

import json
import logging
import platform
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from levers.run import train
from tests.conftest import compose_cfg

MODELS = {"mlp": [], "cnn": ["experiment=digits_cnn"]}
RESULTS = Path(__file__).parent / "results" / "compile.json"


class EpochClock(pl.Callback):
    """Wall time of every training epoch (validation included), from the start of fit."""

    def on_train_start(self, trainer, pl_module) -> None:
        self.last, self.epochs = time.perf_counter(), []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        now = time.perf_counter()
        self.epochs.append(now - self.last)
        self.last = now


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    logging.disable(logging.WARNING)
    rows = []
    for model, overrides in MODELS.items():
        for compiled in (False, True):
            with tempfile.TemporaryDirectory() as out:
                cfg = compose_cfg(
                    Path(out), *overrides, f"trainer.max_epochs={epochs}", "callbacks.early_stopping=null",
                    f"trainer.compile={str(compiled).lower()}", "quiet=true",
                )  # fmt: skip
                clock = EpochClock()
                started = time.perf_counter()
                train(cfg, extra_callbacks=[clock])
                total = time.perf_counter() - started
            later = sum(clock.epochs[1:]) / (len(clock.epochs) - 1)
            row = {"model": model, "compile": compiled, "first_epoch_s": round(clock.epochs[0], 3)}
            rows.append({**row, "later_epoch_mean_s": round(later, 4), "run_s": round(total, 2)})
            print(json.dumps(rows[-1]), flush=True)
    machine = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": platform.processor()}
    RESULTS.write_text(json.dumps({"epochs": epochs, "machine": machine, "runs": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
