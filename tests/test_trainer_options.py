"""Trainer options that run on this machine: mixed precision on CPU (the same autocast path as trainer=gpu)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from levers.run import train


def test_bf16_mixed_precision_trains_and_tests(make_cfg):
    cfg = make_cfg("trainer=cpu", "trainer.precision=bf16-mixed", "data.limit=300", "trainer.max_epochs=2")
    best = train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert math.isfinite(best) and summary["test"]["test/acc"] > 0.5
