"""Overfit check: a healthy model fits a few fixed batches; one that cannot learn FAILs with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from levers.build import regularization_off
from levers.diagnostics.overfit import OverfitFailed
from levers.run import run


def test_default_model_passes_the_overfit_check(make_cfg):
    cfg = make_cfg("mode=overfit", "diagnostics.overfit.max_epochs=60")
    final_loss = run(cfg)
    verdict = json.loads((Path(cfg.paths.output_dir) / "overfit.json").read_text())
    assert verdict["passed"] and verdict["rows"] == 64
    assert verdict["after"]["acc"] == 1.0
    assert final_loss == pytest.approx(verdict["after"]["loss"]) and final_loss < verdict["before"]["loss"] / 20


def test_model_that_cannot_learn_fails_with_the_reason(make_cfg):
    cfg = make_cfg("mode=overfit", "optimizer.lr=1e-9", "diagnostics.overfit.max_epochs=5")
    with pytest.raises(OverfitFailed, match=r"FAIL: .*loss fell 1x, needs 20x.*accuracy 0\.\d+ < 0\.99"):
        run(cfg)
    assert json.loads((Path(cfg.paths.output_dir) / "overfit.json").read_text())["passed"] is False


def test_regularization_is_switched_off_for_the_check(make_cfg):
    cfg = regularization_off(make_cfg("regularization=l1", "optimizer=adamw", "scheduler=plateau"))
    assert (cfg.regularization.dropout, cfg.regularization.weight_decay, cfg.regularization.l1) == (0.0, 0.0, 0.0)
    assert cfg.model.dropout == 0.0 and cfg.optimizer.weight_decay == 0.0 and cfg.scheduler.scheduler is None
