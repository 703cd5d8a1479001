"""Overfit check: a healthy model fits a few fixed batches; one that cannot learn FAILs with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from levers.build import regularization_off
from levers.diagnostics.overfit import OverfitFailed, monotone
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


def test_readme_start_simple_recipe_passes_as_a_linear_model(make_cfg, caplog):
    """README's recipe: two digit classes, a linear model. It converges (loss fell 11x in 150 epochs, every tenth
    lower than the last, accuracy 1.0) but a convex model never reaches the deep rule's 20x: the linear rule applies."""
    cfg = make_cfg("data.classes=[0,1]", "data.limit=200", "model.depth=0", "mode=overfit")
    with caplog.at_level("INFO", logger="levers.diagnostics.overfit"):
        run(cfg)
    verdict = json.loads((Path(cfg.paths.output_dir) / "overfit.json").read_text())
    assert verdict["passed"] and verdict["linear"] and verdict["rule"] == "linear"
    assert verdict["after"]["acc"] == 1.0 and verdict["before"]["loss"] / verdict["after"]["loss"] < 20
    assert "overfit check PASS" in caplog.text


def test_a_linear_model_that_cannot_learn_still_fails(make_cfg):
    cfg = make_cfg("data.classes=[0,1]", "data.limit=200", "model.depth=0", "mode=overfit", "optimizer.lr=1e-9")
    cfg.diagnostics.overfit.max_epochs = 5
    with pytest.raises(OverfitFailed, match=r"loss fell 1x, needs 2x \(linear model\)"):
        run(cfg)


def test_a_deep_model_is_judged_by_the_deep_rule(make_cfg):
    cfg = make_cfg("mode=overfit", "diagnostics.overfit.max_epochs=60")
    run(cfg)
    verdict = json.loads((Path(cfg.paths.output_dir) / "overfit.json").read_text())
    assert verdict["rule"] == "deep" and not verdict["linear"] and verdict["loss_factor"] == 20


@pytest.mark.parametrize(
    ("curve", "expected"),
    [([1.0 - 0.005 * i for i in range(150)], True), ([1.0 - 0.005 * i for i in range(100)] + [0.9] * 50, False)],
)
def test_a_linear_model_whose_loss_rises_fails(curve, expected):
    assert monotone(curve) is expected
