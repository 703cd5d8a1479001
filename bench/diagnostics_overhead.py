"""Prints the wall time of a digits run with the guard off, with the default callbacks (guard on), and with the
layer monitor on: what the diagnostics cost an ordinary run. Not part of the test suite.

    PYTHONPATH=src python bench/diagnostics_overhead.py [epochs]
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from levers.run import train
from tests.conftest import compose_cfg

VARIANTS = {
    "guard off": ["callbacks.nonfinite_guard=null"],
    "default (guard on)": [],
    "monitor every 20 steps": ["callbacks=monitor", "callbacks.monitor.plot=false"],
    "monitor every step": ["callbacks=monitor", "callbacks.monitor.plot=false", "callbacks.monitor.every_n_steps=1"],
}


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    logging.disable(logging.WARNING)
    for name, overrides in VARIANTS.items():
        with tempfile.TemporaryDirectory() as out:
            cfg = compose_cfg(Path(out), f"trainer.max_epochs={epochs}", "callbacks.early_stopping=null", *overrides)
            started = time.perf_counter()
            train(cfg)
            print(f"{name:<24} {time.perf_counter() - started:6.2f} s for {epochs} epochs", flush=True)


if __name__ == "__main__":
    main()
