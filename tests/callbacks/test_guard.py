"""The non-finite guard: a diverging run stops at once, names the step and the levers, and keeps what it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from levers.callbacks.guard import NonFiniteLoss
from levers.run import train


def test_lr_10_with_sgd_stops_at_the_first_nonfinite_loss_with_the_levers_named(make_cfg):
    cfg = make_cfg("optimizer=sgd", "optimizer.lr=10")
    with pytest.raises(NonFiniteLoss) as stopped:
        train(cfg)
    message = str(stopped.value)
    assert f"at step {stopped.value.step} (epoch 0)" in message
    assert stopped.value.step < 40  # within the first epoch of 40 batches, not at its end
    for lever in ("optimizer.lr", "trainer.gradient_clip_val", "scaling=standard"):
        assert lever in message
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert summary["status"] == "diverged" and "NonFiniteLoss" in summary["error"]


def test_divergence_after_healthy_epochs_keeps_the_best_checkpoint_and_summary(make_cfg):
    # SGD at lr 0.01 for two epochs, then a planted step to lr 10 (MultiStepLR, gamma 1000) at epoch 2.
    cfg = make_cfg("optimizer=sgd", "optimizer.lr=0.01", "trainer.max_epochs=5")
    cfg.scheduler.scheduler = OmegaConf.create(
        {"_target_": "torch.optim.lr_scheduler.MultiStepLR", "_partial_": True, "milestones": [2], "gamma": 1000.0}
    )
    with pytest.raises(NonFiniteLoss) as stopped:
        train(cfg)
    assert stopped.value.epoch == 2
    out = Path(cfg.paths.output_dir)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["best_epoch"] == 1 and summary["epochs_run"] == 2
    best = torch.load(out / "checkpoints" / "epoch_001.ckpt", weights_only=True)
    assert all(torch.isfinite(t).all() for t in best["state_dict"].values() if t.is_floating_point())
    advice = json.loads((out / "doctor.json").read_text())["advice"]
    assert advice[0]["rule"] == "diverged"
    assert advice[0]["overrides"] == ["optimizer.lr=0.001", "trainer.gradient_clip_val=1.0"]


def test_guard_is_in_the_default_callbacks_and_can_be_switched_off(make_cfg):
    assert make_cfg().callbacks.nonfinite_guard._target_ == "levers.callbacks.guard.NonFiniteGuard"
    cfg = make_cfg("optimizer=sgd", "optimizer.lr=10", "callbacks.nonfinite_guard=null", "trainer.max_epochs=1")
    train(cfg)  # without the guard the NaN run "completes"
    assert json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())["status"] == "completed"


def test_the_first_nonfinite_step_is_named_the_same_with_fused_steps(make_cfg):
    steps = []
    for steps_per_call in (1, 16):
        with pytest.raises(NonFiniteLoss) as stopped:
            train(make_cfg("optimizer=sgd", "optimizer.lr=10", f"steps_per_call={steps_per_call}"))
        steps.append(stopped.value.step)
    assert steps[0] == steps[1]
    assert 0 < steps[1] < 15  # inside the first chunk of 16 steps, not at its end
