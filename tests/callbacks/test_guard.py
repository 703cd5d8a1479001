"""The divergence guard: a run whose training loss becomes NaN/inf or explodes past 1e4x its first value stops at
once, names the step and the levers, and keeps what it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from torch.utils._python_dispatch import TorchDispatchMode

from levers.callbacks.guard import ExplodedLoss, LossDiverged, NonFiniteGuard, NonFiniteLoss
from levers.run import train


def test_lr_10_with_sgd_stops_at_the_first_diverged_loss_with_the_levers_named(make_cfg):
    cfg = make_cfg("optimizer=sgd", "optimizer.lr=10")
    with pytest.raises(LossDiverged) as stopped:
        train(cfg)
    message = str(stopped.value)
    assert f"at step {stopped.value.step} (epoch 0)" in message
    assert stopped.value.step < 40  # within the first epoch of 40 batches, not at its end
    for lever in ("optimizer.lr", "trainer.gradient_clip_val", "scaling=standard"):
        assert lever in message
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert summary["status"] == "diverged" and type(stopped.value).__name__ in summary["error"]


def test_nan_loss_is_diverged_with_the_explosion_rule_off(make_cfg):
    cfg = make_cfg("optimizer=sgd", "optimizer.lr=10", "callbacks.nonfinite_guard.divergence_factor=null")
    with pytest.raises(NonFiniteLoss, match="training loss became (nan|inf)"):
        train(cfg)


def test_finite_loss_1e4x_the_first_one_is_diverged(make_cfg):
    # Adam at lr 1e10 never produces a NaN on digits: it "completed" with a test loss of 2e34 before the rule.
    cfg = make_cfg("optimizer.lr=1e10")
    with pytest.raises(ExplodedLoss) as stopped:
        train(cfg)
    assert stopped.value.value > 1e4 * stopped.value.first > 0
    assert stopped.value.step < 5 and "over 10000x the first step's" in str(stopped.value)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert summary["status"] == "diverged" and "ExplodedLoss" in summary["error"]


def test_regression_run_with_a_loss_spike_below_the_factor_completes(make_cfg):
    # Among the healthy runs measured (bench/divergence.py), diabetes with SGD at its default lr 0.01, seed 2,
    # spikes to 378x its first loss at step 3, and ends with test r2 0.41.
    cfg = make_cfg("data=diabetes", "optimizer=sgd", "optimizer.lr=0.01", "seed=2", "trainer.max_epochs=1")
    train(cfg)
    assert json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())["status"] == "completed"


def test_first_loss_is_saved_in_checkpoints_for_a_resumed_run(make_cfg):
    cfg = make_cfg("trainer.max_epochs=1")
    train(cfg)
    last = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    (state,) = [value for key, value in last["callbacks"].items() if key.startswith("NonFiniteGuard")]
    assert 2.0 < state["first_loss"] < 5.0  # digits, 10 classes: about ln(10) = 2.3 at initialisation


def test_divergence_after_healthy_epochs_keeps_the_best_checkpoint_and_summary(make_cfg):
    # SGD at lr 0.01 for two epochs, then a planted step to lr 10 (MultiStepLR, gamma 1000) at epoch 2.
    cfg = make_cfg("optimizer=sgd", "optimizer.lr=0.01", "trainer.max_epochs=5")
    cfg.scheduler.scheduler = OmegaConf.create(
        {"_target_": "torch.optim.lr_scheduler.MultiStepLR", "_partial_": True, "milestones": [2], "gamma": 1000.0}
    )
    with pytest.raises(LossDiverged) as stopped:
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


def test_the_first_diverged_step_is_named_the_same_with_fused_steps(make_cfg):
    steps = []
    for steps_per_call in (1, 16):
        with pytest.raises(LossDiverged) as stopped:
            train(make_cfg("optimizer=sgd", "optimizer.lr=10", f"steps_per_call={steps_per_call}"))
        steps.append(stopped.value.step)
    assert steps[0] == steps[1]
    assert 0 < steps[1] < 15  # inside the first chunk of 16 steps, not at its end


class HostReads(TorchDispatchMode):
    """Records every op that reads a tensor back to the host (a sync on an accelerator): .item() and friends
    dispatch `_local_scalar_dense`, data-dependent shapes `nonzero`."""

    SYNCING = ("_local_scalar_dense", "nonzero", "is_nonzero")

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if any(name in str(func) for name in self.SYNCING):
            self.ops.append(str(func))
        return func(*args, **(kwargs or {}))


def test_recording_losses_reads_nothing_back_to_the_host():
    guard = NonFiniteGuard()
    chunks = [torch.tensor([2.3, 2.1]), torch.tensor([2.0, 5e4, float("nan")]), torch.tensor([1.0])]
    with HostReads() as reads:
        for first_step, losses in zip((0, 2, 5), chunks, strict=True):
            guard.record(losses, first_step)
    assert reads.ops == []
    assert int(guard._first_bad) == 3 and float(guard._bad_value) == 5e4  # 5e4 > 1e4 x 2.3, before the NaN
