"""Several optimizer steps per Lightning step (steps_per_call) train exactly what Lightning's own loop trains."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from levers.callbacks.monitor import LayerMonitor
from levers.errors import LeversConfigError
from levers.fused_steps import plan_for
from levers.run import train

CASES = {
    "adam_dropout": [],
    "sgd_clip_norm_onecycle": ["optimizer=sgd", "trainer.gradient_clip_val=0.5", "scheduler=onecycle"],
    "clip_value_step_schedule": [
        "trainer.gradient_clip_val=0.01",
        "trainer.gradient_clip_algorithm=value",
        "scheduler=step",
        "scheduler.scheduler.step_size=1",
    ],
    "plateau": ["scheduler=plateau", "scheduler.scheduler.patience=0", "scheduler.scheduler.threshold=0.5"],
    "cyclic_every_third_step": ["scheduler=cyclic", "scheduler.scheduler.step_size_up=5", "scheduler.frequency=3"],
    "l1_activity_regression": ["data=diabetes", "regularization=l1_activity", "regularization.l1_activity=1e-3"],
}


def final_state(cfg) -> tuple[dict, list[dict]]:
    """(last checkpoint, rows of metrics.csv) of a finished run."""
    out = Path(cfg.paths.output_dir)
    checkpoint = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    with open(out / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    return checkpoint, rows


@pytest.mark.parametrize("overrides", CASES.values(), ids=CASES.keys())
def test_fused_steps_end_with_the_weights_of_lightnings_own_loop(make_cfg, overrides):
    # 40 mini-batches of 32 per digits epoch (the last one short): 3 per call leaves a one-batch last chunk.
    runs = {k: make_cfg(*overrides, f"steps_per_call={k}", "callbacks.early_stopping=null") for k in (1, 3)}
    for cfg in runs.values():
        train(cfg)
    (one, one_rows), (fused, fused_rows) = (final_state(cfg) for cfg in runs.values())
    assert fused["global_step"] == one["global_step"] > 0
    for name, weights in one["state_dict"].items():
        torch.testing.assert_close(fused["state_dict"][name], weights, rtol=0, atol=1e-6, msg=name)
    # Same step axis and same per-epoch values: train/loss, val metrics and each epoch's lr (lr-<Optimizer>).
    assert any(key.startswith("lr-") for key in one_rows[0])
    for row_one, row_fused in zip(one_rows, fused_rows, strict=True):
        assert row_fused["step"] == row_one["step"]
        for key, value in row_one.items():
            if value and key != "step":
                assert float(row_fused[key]) == pytest.approx(float(value), rel=1e-5, abs=1e-6), key


def test_auto_fuses_steps_on_a_single_device_and_sizes_a_call_to_4096_rows(make_cfg):
    plan = plan_for(make_cfg("data.batch_size=32"), pl.Trainer(accelerator="cpu", devices=1, logger=False))
    assert plan is not None and plan.steps == 128 and plan.batch_size == 32


REASONS = {
    "layer monitor callback": ([], {"callbacks": [LayerMonitor()]}, "on_before_optimizer_step"),
    "ddp": ([], {"devices": 2, "strategy": "ddp"}, "DDPStrategy"),
    "mixed precision": ([], {"precision": "bf16-mixed"}, "trainer.precision"),
    "accumulation": ([], {"accumulate_grad_batches": 2}, "accumulate_grad_batches"),
    "max_steps": ([], {"max_steps": 10}, "max_steps"),
    "swa": (["regularization=swa"], {}, "regularization=swa"),
    "diagnostic mode": (["mode=overfit"], {}, "mode=overfit"),
}


@pytest.mark.parametrize(("overrides", "trainer_kwargs", "reason"), REASONS.values(), ids=REASONS.keys())
def test_auto_keeps_lightnings_loop_where_fusing_would_not_be_exact(make_cfg, overrides, trainer_kwargs, reason):
    trainer = pl.Trainer(accelerator="cpu", logger=False, **{"devices": 1, **trainer_kwargs})
    assert plan_for(make_cfg(*overrides), trainer) is None
    with pytest.raises(LeversConfigError, match=reason) as refused:
        plan_for(make_cfg(*overrides, "steps_per_call=4"), trainer)
    assert "steps_per_call" in str(refused.value)
