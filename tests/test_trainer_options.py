"""Trainer options that run on this machine: mixed precision on CPU (the same autocast path as trainer=gpu), and
gradient clipping measured inside a real (short) training run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from levers.run import train
from tests.in_training import run_with


def test_bf16_mixed_precision_trains_and_tests(make_cfg):
    cfg = make_cfg("trainer=cpu", "trainer.precision=bf16-mixed", "data.limit=300", "trainer.max_epochs=2")
    best = train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert math.isfinite(best) and summary["test"]["test/acc"] > 0.5


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
