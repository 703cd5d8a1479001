"""Levers measured inside real (short) training runs: each does what its name says."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from levers.data.datamodule import TabularDataModule
from levers.run import train


class GradientRecorder(pl.Callback):
    """Records the gradients each optimizer step used: after the step (Lightning's closure computes and clips them
    inside `optimizer.step`), before the next zero_grad."""

    def __init__(self) -> None:
        self.norms: list[float] = []
        self.max_abs: list[float] = []

    def on_train_start(self, trainer, pl_module) -> None:
        def record(optimizer, args, kwargs) -> None:
            grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
            self.norms.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item())
            self.max_abs.append(max(g.abs().max().item() for g in grads))

        trainer.optimizers[0].register_step_post_hook(record)


class FinalWeights(pl.Callback):
    def on_train_end(self, trainer, pl_module) -> None:
        self.module = pl_module


def run_with(make_cfg, *overrides: str, callbacks=()) -> tuple[dict, pl.LightningModule | None]:
    """Train with extra (test-only) callbacks appended to the configured ones."""
    cfg = make_cfg(*overrides)
    train(cfg, extra_callbacks=callbacks)
    return json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text()), cfg


@pytest.mark.parametrize("clip", [None, "norm", "value"])
def test_gradient_clipping_bounds_the_norm_or_every_element(make_cfg, clip):
    recorder = GradientRecorder()
    overrides = ["optimizer.lr=0.01", "trainer.max_epochs=1", "data.batch_size=8"]
    if clip:
        overrides += ["trainer.gradient_clip_val=0.05", f"trainer.gradient_clip_algorithm={clip}"]
    run_with(make_cfg, *overrides, callbacks=[recorder])
    if clip == "norm":
        assert max(recorder.norms) <= 0.05 + 1e-6
    elif clip == "value":
        assert max(recorder.max_abs) <= 0.05 + 1e-7 and max(recorder.norms) > 0.05
    else:  # the control: unclipped gradients do exceed the threshold, so the two cases above can fail
        assert max(recorder.norms) > 0.05 and max(recorder.max_abs) > 0.05


@pytest.mark.parametrize(("reset_every", "expect_zero"), [(2, True), (3, False)])
def test_adagrad_reset_zeroes_the_accumulator_at_the_configured_epoch(make_cfg, reset_every, expect_zero):
    final = FinalWeights()
    run_with(
        make_cfg, "optimizer=adagrad", f"callbacks.adagrad_reset.every_n_epochs={reset_every}", "trainer.max_epochs=2",
        callbacks=[final],
    )  # fmt: skip
    optimizer = final.module.trainer.optimizers[0]
    sums = [state["sum"] for state in optimizer.state.values()]
    assert sums and all(bool((s == 0).all()) == expect_zero for s in sums)


def weight_stats(module: pl.LightningModule) -> tuple[float, float]:
    """Mean |w| over weight matrices, and the share of weights within 1e-3 of zero."""
    weights = [p for n, p in module.net.named_parameters() if n.endswith("weight") and p.ndim > 1]
    flat = torch.cat([w.detach().abs().flatten() for w in weights])
    return flat.mean().item(), (flat < 1e-3).float().mean().item()


def test_l1_drives_weights_to_zero_and_l2_shrinks_them(make_cfg):
    stats = {}
    for name, overrides in {
        "none": ["regularization=none"],
        "l1": ["regularization=l1", "regularization.l1=1e-3"],
        "l2": ["regularization=l2", "regularization.weight_decay=0.5", "optimizer=adamw"],
    }.items():
        final = FinalWeights()
        run_with(make_cfg, *overrides, "trainer.max_epochs=4", "callbacks.early_stopping=null", callbacks=[final])
        stats[name] = weight_stats(final.module)
    (mean_none, zeros_none), (mean_l1, zeros_l1), (mean_l2, _zeros_l2) = stats["none"], stats["l1"], stats["l2"]
    assert mean_l1 < 0.8 * mean_none and zeros_l1 > 10 * zeros_none
    assert mean_l2 < 0.95 * mean_none


def test_l1_activity_makes_the_hidden_code_sparser(make_cfg):
    codes = {}
    for name, strength in (("none", 0.0), ("l1_activity", 1e-3)):
        final = FinalWeights()
        run_with(make_cfg, f"regularization.l1_activity={strength}", "regularization.dropout=0", callbacks=[final])
        data = TabularDataModule(make_cfg().data, "standard", seed=42)
        with torch.no_grad():
            codes[name] = final.module.net.encode(data.tensors["val"][0]).abs().mean().item()
    assert codes["l1_activity"] < 0.75 * codes["none"]  # measured: 0.61x at seed 42


def test_swa_tests_the_averaged_weights_not_the_best_checkpoint(make_cfg):
    summary, _ = run_with(
        make_cfg, "regularization=swa", "regularization.swa_epoch_start=1", "regularization.swa_annealing_epochs=1",
        "trainer.max_epochs=4",
    )  # fmt: skip
    assert summary["tested_weights"] == "swa" and summary["best_checkpoint"] == ""
    assert summary["test"]["test/acc"] > 0.8


def test_step_interval_schedules_step_every_batch_in_a_real_run(make_cfg):
    _summary, cfg = run_with(make_cfg, "scheduler=onecycle", "trainer.max_epochs=3", "callbacks.early_stopping=null")
    rows = list(csv.DictReader((Path(cfg.paths.output_dir) / "metrics.csv").open()))
    lrs = [float(r["lr-Adam"]) for r in rows if r.get("lr-Adam")]
    # Logged at each epoch start: epoch 0 starts at max_lr/25; by epoch 2 (60% through) it has passed the peak.
    assert lrs[0] == pytest.approx(1e-2 / 25, rel=1e-3)
    assert lrs[1] > lrs[0] and lrs[2] < 1e-2


def test_the_fitted_scalers_are_saved_in_the_checkpoint(make_cfg):
    summary, cfg = run_with(make_cfg, "scaling=robust")
    state = torch.load(summary["best_checkpoint"], weights_only=True)["state_dict"]
    data = TabularDataModule(cfg.data, "robust", seed=cfg.seed)
    assert torch.equal(state["feature_scaler.offset"], data.feature_scaler.offset)
    assert torch.equal(state["feature_scaler.scale"], data.feature_scaler.scale)


def test_classes_and_limit_start_from_a_simple_sub_task(make_cfg):
    summary, _ = run_with(make_cfg, "data.classes=[0,1]", "data.limit=200")
    assert (summary["task"], summary["loss"]) == ("binary", "bce")
    assert sum(summary["split_sizes"].values()) == 200
    assert summary["test"]["test/acc"] > 0.95


def test_mae_and_huber_beat_mse_on_the_heavy_tailed_target_test_mae(make_cfg):
    maes = {}
    for loss in ("mse", "mae", "huber"):
        summary, _ = run_with(
            make_cfg, "data=randhie", f"loss={loss}", "data.batch_size=256", "trainer.max_epochs=8", "seed=0"
        )
        maes[loss] = summary["test"]["test/mae"]
    assert maes["mae"] < maes["mse"] and maes["huber"] < maes["mse"], maes


@pytest.mark.parametrize("model", ["cnn", "rnn"])
def test_image_models_learn_digits_well_above_chance(make_cfg, model):
    summary, _ = run_with(make_cfg, f"model={model}", "trainer.max_epochs=3")
    assert summary["test"]["test/acc"] > 0.6
