"""Each scheduler option's lr trajectory follows its formula (built from the composed config, as training does)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from levers.optim import Schedule, configure_optimization, optimizer_factory
from tests.in_training import run_with


def trajectory(make_cfg, scheduler: str, *overrides: str, steps: int, total: int | None = None, metric=None):
    """lr (and momentum) after each scheduler step; `metric` feeds reduce-on-plateau."""
    cfg = make_cfg(f"scheduler={scheduler}", *overrides)
    parameter = torch.nn.Parameter(torch.zeros(1))
    built = configure_optimization(
        optimizer_factory(cfg.optimizer), Schedule.of(cfg.scheduler), [parameter], total or steps
    )
    optimizer, scheduler_ = built["optimizer"], built["lr_scheduler"]["scheduler"]
    lrs, momenta = [optimizer.param_groups[0]["lr"]], []
    for step in range(steps):
        optimizer.step()
        scheduler_.step(metric(step)) if metric else scheduler_.step()
        lrs.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0].get("momentum"))
    return cfg, lrs, momenta


def test_plateau_halves_the_lr_after_patience_stale_epochs(make_cfg):
    cfg, lrs, _ = trajectory(make_cfg, "plateau", "scheduler.scheduler.patience=3", steps=12, metric=lambda s: 1.0)
    lr0 = cfg.optimizer.lr
    # Epoch 0 sets the best; epochs 1-3 are the 3 tolerated stale ones; the 4th stale epoch halves the lr.
    assert lrs[1:5] == [lr0] * 4
    assert lrs[5] == pytest.approx(lr0 / 2)
    assert lrs[9] == pytest.approx(lr0 / 4)


def test_plateau_keeps_the_lr_while_the_metric_improves(make_cfg):
    cfg, lrs, _ = trajectory(make_cfg, "plateau", steps=20, metric=lambda s: 1.0 / (s + 1))
    assert set(lrs) == {cfg.optimizer.lr}


def test_inverse_time_follows_one_over_one_plus_decay_t(make_cfg):
    cfg, lrs, _ = trajectory(make_cfg, "inverse_time", "scheduler.scheduler.decay=0.5", steps=10)
    assert lrs == pytest.approx([cfg.optimizer.lr / (1 + 0.5 * t) for t in range(11)])


def test_step_and_exponential_follow_their_formulas(make_cfg):
    cfg, lrs, _ = trajectory(
        make_cfg, "step", "scheduler.scheduler.step_size=3", "scheduler.scheduler.gamma=0.5", steps=9
    )
    assert lrs == pytest.approx([cfg.optimizer.lr * 0.5 ** (t // 3) for t in range(10)])
    cfg, lrs, _ = trajectory(make_cfg, "exponential", "scheduler.scheduler.gamma=0.9", steps=5)
    assert lrs == pytest.approx([cfg.optimizer.lr * 0.9**t for t in range(6)])


def test_onecycle_peaks_at_max_lr_at_pct_start_and_cycles_sgd_momentum_inversely(make_cfg):
    total = 100
    _, lrs, momenta = trajectory(
        make_cfg, "onecycle", "optimizer=sgd", "scheduler.scheduler.max_lr=0.2", "scheduler.scheduler.pct_start=0.3",
        steps=total - 1, total=total,
    )  # fmt: skip
    peak = max(range(len(lrs)), key=lrs.__getitem__)
    assert lrs[peak] == pytest.approx(0.2)
    assert abs(peak - 0.3 * total) <= 1
    assert lrs[0] == pytest.approx(0.2 / 25) and lrs[-1] < lrs[0] / 100
    assert min(momenta) == pytest.approx(0.85) and momenta[peak - 1] == pytest.approx(0.85, abs=1e-3)


def test_cosine_warms_up_linearly_then_anneals_to_min(make_cfg):
    total = 100
    cfg, lrs, _ = trajectory(make_cfg, "cosine", "scheduler.scheduler.warmup_fraction=0.1", steps=total, total=total)
    lr0 = cfg.optimizer.lr
    assert lrs[:10] == pytest.approx([lr0 * (t + 1) / 10 for t in range(10)])
    assert lrs[10] == pytest.approx(lr0)
    assert lrs[55] == pytest.approx(lr0 * 0.5 * (1 + math.cos(math.pi * 45 / 90)))
    assert lrs[100] == pytest.approx(0.0, abs=1e-12)


def test_cyclic_is_triangular_between_base_and_max(make_cfg):
    _, lrs, _ = trajectory(
        make_cfg, "cyclic", "scheduler.scheduler.base_lr=0.001", "scheduler.scheduler.max_lr=0.011",
        "scheduler.scheduler.step_size_up=10", steps=40,
    )  # fmt: skip
    assert lrs[0] == pytest.approx(0.001) and lrs[10] == pytest.approx(0.011) and lrs[20] == pytest.approx(0.001)
    assert lrs[5] == pytest.approx(0.006)


def test_a_scheduler_spanning_the_run_needs_a_finite_length(make_cfg):
    cfg = make_cfg("scheduler=cosine")
    with pytest.raises(ValueError, match="trainer.max_epochs"):
        configure_optimization(
            optimizer_factory(cfg.optimizer), Schedule.of(cfg.scheduler), [torch.nn.Parameter(torch.zeros(1))], None
        )


def test_step_interval_schedules_step_every_batch_in_a_real_run(make_cfg):
    _summary, cfg = run_with(make_cfg, "scheduler=onecycle", "trainer.max_epochs=3", "callbacks.early_stopping=null")
    rows = list(csv.DictReader((Path(cfg.paths.output_dir) / "metrics.csv").open()))
    lrs = [float(r["lr-Adam"]) for r in rows if r.get("lr-Adam")]
    # Logged at each epoch start: epoch 0 starts at max_lr/25; by epoch 2 (60% through) it has passed the peak.
    assert lrs[0] == pytest.approx(1e-2 / 25, rel=1e-3)
    assert lrs[1] > lrs[0] and lrs[2] < 1e-2
