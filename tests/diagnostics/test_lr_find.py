"""LR range test: divergence point, both suggestions, plot, restored weights; `optimizer.lr=auto` trains well."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest
import torch

from levers.build import build
from levers.config.schema.diagnostics import LRFindConfig
from levers.diagnostics.lr_find import analyse, decide, option_default_lr, verdict
from levers.errors import LeversConfigError, LeversRunFailed
from levers.run import run_diagnostic, train
from tests.conftest import compose_cfg

EPOCHS = "trainer.max_epochs=3"  # few epochs each; the same for every lr compared
GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1e0)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_lr_find_reports_divergence_both_suggestions_and_a_plot(make_cfg):
    cfg = make_cfg("mode=lr_find")
    built = build(cfg)
    initial = {name: tensor.clone() for name, tensor in built.module.state_dict().items()}
    suggested = run_diagnostic(cfg, built)
    out = Path(cfg.paths.output_dir)
    result = json.loads((out / "lr_find.json").read_text())
    assert result["diverged"] and result["steps_run"] < 100  # stopped at the divergence, before lr reached 10
    assert result["half_divergence_lr"] == pytest.approx(result["divergence_lr"] / 2)
    assert 1e-6 < result["steepest_lr"] < result["divergence_lr"] < 10
    assert suggested == result["valley_lr"] and result["suggestion"] == "valley" and result["trusted"]
    assert png_size(out / "lr_find.png") == (700, 450)
    assert not list(out.glob(".lr_find_*.ckpt"))  # Lightning's temporary checkpoint is gone
    assert all(torch.equal(initial[name], tensor) for name, tensor in built.module.state_dict().items())


def test_analyse_finds_divergence_and_steepest_descent_on_a_known_curve():
    lrs = [10 ** (-6 + 0.1 * i) for i in range(60)]
    # flat, then a steep fall centred on lr=1e-3 (index 30), then a blow-up from index 50
    losses = [2.0 - 1.5 / (1 + math.exp(-(i - 30) / 2)) if i < 50 else 10.0 for i in range(60)]
    result = analyse(lrs, losses, losses, diverged_at=50)
    assert result["divergence_lr"] == pytest.approx(lrs[50]) and result["half_divergence_lr"] == pytest.approx(
        lrs[50] / 2
    )
    assert result["steepest_lr"] == pytest.approx(1e-3)


@pytest.fixture(scope="module")
def auto_run(tmp_path_factory) -> dict:
    cfg = compose_cfg(tmp_path_factory.mktemp("auto"), "optimizer.lr=auto", EPOCHS)
    train(cfg)
    return json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())


def test_suggested_lr_trains_within_2_points_of_the_best_lr_of_a_5_point_grid(auto_run, tmp_path):
    grid = {}
    for lr in GRID:
        cfg = compose_cfg(tmp_path / f"lr_{lr}", f"optimizer.lr={lr}", EPOCHS)
        try:
            train(cfg)
        except LeversRunFailed:  # the grid's top lr explodes: the guard ends that run as diverged
            grid[lr] = 0.0
            continue
        grid[lr] = json.loads((tmp_path / f"lr_{lr}" / "summary.json").read_text())["test"]["test/acc"]
    assert auto_run["test"]["test/acc"] >= max(grid.values()) - 0.02, (auto_run["lr_auto"], grid)


def test_auto_lr_run_equals_a_run_with_the_chosen_lr(auto_run, tmp_path):
    chosen = auto_run["lr_auto"]["lr"]
    cfg = compose_cfg(tmp_path, f"optimizer.lr={chosen!r}", EPOCHS)
    train(cfg)
    rerun = json.loads((tmp_path / "summary.json").read_text())
    assert rerun["best_value"] == auto_run["best_value"] and rerun["test"] == auto_run["test"]


@pytest.mark.parametrize("bad", ["fast", "-1"])
def test_lr_must_be_positive_or_auto(make_cfg, bad):
    with pytest.raises(LeversConfigError, match=r"optimizer.lr=.* is not allowed: > 0, or auto"):
        train(make_cfg(f"optimizer.lr={bad}"))


def test_auto_lr_trains_adagrad_with_its_accumulator_reset(make_cfg):
    """The range test builds its probe's optimizer like the real one (it used to pass levers' own keys to torch)."""
    reset = "callbacks.adagrad_reset.every_n_epochs=1"
    cfg = make_cfg("optimizer=adagrad", "optimizer.lr=auto", reset, "data.limit=300")
    train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["lr_auto"]["lr"] > 0


def test_choosing_the_lr_leaves_the_callers_config_as_it_was(make_cfg):
    cfg = make_cfg("optimizer.lr=auto", "data.limit=300", "trainer.max_epochs=1")
    train(cfg)
    assert cfg.optimizer.lr == "auto"


# --- when the range test does not know ----------------------------------------------------------------------


def sigmoid_curve(n: int = 100) -> tuple[list[float], list[float]]:
    """A clean fall centred on lr=1e-3 over lr 1e-6..1e1."""
    lrs = [10 ** (-6 + 7 * i / (n - 1)) for i in range(n)]
    return lrs, [2.0 - 1.5 / (1 + math.exp(-(math.log10(lr) + 3) * 3)) for lr in lrs]


def test_valley_sits_inside_the_fall_and_is_trusted():
    lrs, losses = sigmoid_curve()
    result = decide(analyse(lrs, losses, losses, None), LRFindConfig(), fallback_lr=1e-3)
    assert 1e-5 < result["valley_lr"] < 1e-1 and result["suggestion"] == "valley"
    assert result["trusted"] and result["suggested_lr"] == result["valley_lr"] and result["confidence"] > 0.9


def test_a_flat_noisy_curve_is_not_trusted_and_the_default_lr_is_used():
    lrs, _ = sigmoid_curve()
    noise = [1.0 + 0.2 * math.sin(7.3 * i) for i in range(len(lrs))]  # no fall, only jitter
    smoothed = [sum(noise[max(0, i - 4) : i + 1]) / len(noise[max(0, i - 4) : i + 1]) for i in range(len(lrs))]
    result = decide(analyse(lrs, noise, smoothed, None), LRFindConfig(), fallback_lr=0.01)
    assert not result["trusted"] and result["suggested_lr"] == 0.01
    assert result["confidence"] < LRFindConfig().min_confidence
    assert any("within the noise" in doubt for doubt in result["doubts"])
    assert "no trustworthy suggestion" in verdict(result) and "default lr 0.01" in verdict(result)


def test_a_suggestion_at_the_edge_of_the_swept_range_is_not_trusted():
    lrs, _ = sigmoid_curve()
    falling_at_start = [2.0 - 1.5 * i / len(lrs) if i < 10 else 0.5 for i in range(len(lrs))]
    result = decide(analyse(lrs, falling_at_start, falling_at_start, None), LRFindConfig(), fallback_lr=1e-3)
    assert result["valley_lr"] < 1e-5 and not result["trusted"] and result["suggested_lr"] == 1e-3
    assert any("lowest edge" in doubt for doubt in result["doubts"])


@pytest.mark.parametrize(("name", "lr"), [("Adam", 1e-3), ("SGD", 0.01), ("Adagrad", 0.01), ("NAdam", 2e-3)])
def test_the_fallback_is_the_optimizer_options_default_lr(name, lr):
    assert option_default_lr(name) == lr


def test_wage_range_test_is_not_trusted_and_auto_trains_at_adams_default(make_cfg, caplog):
    """The issue's case: wage's loss curve is noise; steepest descent used to pick the range's left edge (2.2e-6)."""
    cfg = make_cfg("data=wage", "optimizer.lr=auto", "trainer.max_epochs=1")
    with caplog.at_level("INFO", logger="levers.diagnostics.lr_find"):
        train(cfg)
    out = Path(cfg.paths.output_dir)
    found = json.loads((out / "lr_find.json").read_text())
    assert not found["trusted"] and found["suggested_lr"] == 1e-3 and found["fallback_lr"] == 1e-3
    assert {"suggestion", "rule_lr", "confidence", "doubts"} <= set(found)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lr_auto"]["lr"] == 1e-3 and summary["lr_auto"]["trusted"] is False
    lines = [r.getMessage() for r in caplog.records if "no trustworthy suggestion" in r.getMessage()]
    assert len(lines) == 1 and "using the optimizer's default lr 0.001" in lines[0]
