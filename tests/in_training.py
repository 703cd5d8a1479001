"""Levers measured inside real (short) training runs: the helpers the per-lever test files share."""

from __future__ import annotations

import json
from pathlib import Path

import pytorch_lightning as pl

from levers.run import train


class FinalWeights(pl.Callback):
    def on_train_end(self, trainer, pl_module) -> None:
        self.module = pl_module


def run_with(make_cfg, *overrides: str, callbacks=()) -> tuple[dict, pl.LightningModule | None]:
    """Train with extra (test-only) callbacks appended to the configured ones."""
    cfg = make_cfg(*overrides)
    train(cfg, extra_callbacks=callbacks)
    return json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text()), cfg
