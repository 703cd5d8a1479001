"""Several optimizer steps per Lightning step (steps_per_call) train exactly what Lightning's own loop trains."""

from __future__ import annotations

import copy
import csv
import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint

from levers.build import build, fused_request
from levers.callbacks.monitor import LayerMonitor
from levers.config.settings import data_settings
from levers.data.datamodule import TabularDataModule
from levers.errors import LeversConfigError
from levers.fused_steps import fused_steps_for
from levers.run import train

FUSED = 3  # steps_per_call of the fused runs compared with Lightning's loop

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
    # groups of 2 across chunks of 3; a cyclic schedule stepping where Lightning does (batch index + 1) % 3 == 0
    "accumulate_2_clip_cyclic": [
        "trainer.accumulate_grad_batches=2",
        "trainer.gradient_clip_val=0.5",
        "scheduler=cyclic",
        "scheduler.scheduler.step_size_up=5",
        "scheduler.frequency=3",
    ],
    # 40 mini-batches an epoch: a short last group of 1; onecycle spans Lightning's count of optimizer steps
    "accumulate_3_sgd_onecycle": ["trainer.accumulate_grad_batches=3", "optimizer=sgd", "scheduler=onecycle"],
}


class FinalState(pl.Callback):
    """Which loop trained (Lightning's automatic one, or fused steps, and how many calls an epoch), and what it ended
    with, read at the end of training (an epoch's checkpoint is taken before a plateau scheduler's epoch step)."""

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.automatic, self.calls_per_epoch = pl_module.automatic_optimization, trainer.num_training_batches

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.global_step = trainer.global_step
        self.weights = {name: value.detach().clone() for name, value in pl_module.state_dict().items()}
        self.optimizer = copy.deepcopy(trainer.optimizers[0].state_dict())
        self.schedulers = [copy.deepcopy(config.scheduler.state_dict()) for config in trainer.lr_scheduler_configs]


def steps_per_epoch(cfg) -> int:
    """Optimizer steps in an epoch, from the data: the train split in mini-batches, the last one short."""
    train_rows = TabularDataModule(data_settings(cfg.data), cfg.scaling.method, cfg.seed).split_size("train")
    return math.ceil(train_rows / cfg.data.batch_size)


def metrics_rows(cfg) -> list[dict]:
    with open(Path(cfg.paths.output_dir) / "metrics.csv") as file:
        return list(csv.DictReader(file))


@pytest.mark.parametrize("overrides", CASES.values(), ids=CASES.keys())
def test_fused_steps_end_with_the_weights_of_lightnings_own_loop(make_cfg, overrides):
    runs = {k: make_cfg(*overrides, f"steps_per_call={k}", "callbacks.early_stopping=null") for k in (1, FUSED)}
    per_epoch, epochs = steps_per_epoch(runs[1]), runs[1].trainer.max_epochs
    assert per_epoch % FUSED and epochs > 1  # a short last chunk every epoch, and the epochs after it
    optimizer_steps = epochs * math.ceil(per_epoch / runs[1].trainer.accumulate_grad_batches)
    ends = {k: FinalState() for k in runs}
    for k, cfg in runs.items():
        train(cfg, extra_callbacks=[ends[k]])
    one, fused = ends[1], ends[FUSED]
    assert one.automatic and one.calls_per_epoch == per_epoch
    assert not fused.automatic and fused.calls_per_epoch == math.ceil(per_epoch / FUSED)
    assert fused.global_step == one.global_step == optimizer_steps
    for name, weights in one.weights.items():
        torch.testing.assert_close(fused.weights[name], weights, rtol=0, atol=1e-6, msg=name)
    assert fused.optimizer["state"].keys() == one.optimizer["state"].keys()
    for index, theirs in one.optimizer["state"].items():  # momentum buffers, Adam moments, step counts
        for key, value in theirs.items():
            torch.testing.assert_close(fused.optimizer["state"][index][key], value, rtol=0, atol=1e-6)
    assert [group["lr"] for group in fused.optimizer["param_groups"]] == [
        group["lr"] for group in one.optimizer["param_groups"]
    ]
    assert fused.schedulers == one.schedulers
    one_rows, fused_rows = metrics_rows(runs[1]), metrics_rows(runs[FUSED])
    # Same step axis and same per-epoch values: train/loss, val metrics and each epoch's lr (lr-<Optimizer>).
    assert any(key.startswith("lr-") for key in one_rows[0])
    for row_one, row_fused in zip(one_rows, fused_rows, strict=True):
        assert row_fused["step"] == row_one["step"]
        for key, value in row_one.items():
            if value and key != "step":
                assert float(row_fused[key]) == pytest.approx(float(value), rel=1e-5, abs=1e-6), key


@pytest.mark.parametrize(("before", "after"), [(1, "auto"), ("auto", 1)])
def test_continuing_from_a_checkpoint_of_the_other_loop_keeps_counting_steps(make_cfg, before, after):
    first = make_cfg(f"steps_per_call={before}", "trainer.max_epochs=2", "callbacks.early_stopping=null")
    train(first)
    last = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    resumed_at = torch.load(last, weights_only=True)["global_step"]
    end = FinalState()
    then = make_cfg(f"steps_per_call={after}", f"ckpt_path={last}", "callbacks.early_stopping=null")
    train(then, [end])
    per_epoch = steps_per_epoch(first)
    assert resumed_at == 2 * per_epoch
    assert end.global_step == then.trainer.max_epochs * per_epoch


@pytest.mark.parametrize("batch_size", [32, 256])
def test_auto_fuses_steps_on_a_single_device_and_sizes_a_call_to_4096_rows(make_cfg, batch_size):
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False)
    fused = fused_steps_for(fused_request(make_cfg(f"data.batch_size={batch_size}")), trainer)
    assert fused is not None and fused.plan.batch_size == batch_size
    assert fused.plan.steps * batch_size == 4096


class PerBatchCallback(pl.Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        pass


REASONS = {
    "layer monitor callback": ([], {"callbacks": [LayerMonitor()]}, "on_before_optimizer_step"),
    "a per-batch callback": ([], {"callbacks": [PerBatchCallback()]}, "on_train_batch_end"),
    "lr logged every step": ([], {"callbacks": [LearningRateMonitor(logging_interval="step")]}, "logging_interval"),
    "checkpoint every n steps": ([], {"callbacks": [ModelCheckpoint(every_n_train_steps=5)]}, "every n steps"),
    "one train batch": ([], {"limit_train_batches": 1}, "limit_train_batches"),
    "ddp": ([], {"devices": 2, "strategy": "ddp"}, "DDPStrategy"),
    "mixed precision": ([], {"precision": "bf16-mixed"}, "trainer.precision"),
    "max_steps": ([], {"max_steps": 10}, "max_steps"),
    "swa": (["regularization=swa"], {}, "regularization=swa"),
    "diagnostic mode": (["mode=overfit"], {}, "mode=overfit"),
}


@pytest.mark.parametrize(("overrides", "trainer_kwargs", "reason"), REASONS.values(), ids=REASONS.keys())
def test_auto_keeps_lightnings_loop_where_fusing_would_not_be_exact(make_cfg, overrides, trainer_kwargs, reason):
    trainer = pl.Trainer(accelerator="cpu", logger=False, **{"devices": 1, **trainer_kwargs})
    assert fused_steps_for(fused_request(make_cfg(*overrides)), trainer) is None
    with pytest.raises(LeversConfigError, match=reason) as refused:
        fused_steps_for(fused_request(make_cfg(*overrides, "steps_per_call=4")), trainer)
    assert "steps_per_call" in str(refused.value)


def test_the_fused_loop_is_handed_to_the_module_once_before_fit(make_cfg):
    cfg = make_cfg("steps_per_call=4")
    module = build(cfg).module
    fused = fused_steps_for(fused_request(cfg), pl.Trainer(accelerator="cpu", devices=1, logger=False))
    assert module.automatic_optimization and fused is not None
    module.use_fused_steps(fused)
    assert module.fused_steps is fused and not module.automatic_optimization
    with pytest.raises(RuntimeError, match="once"):
        module.use_fused_steps(fused)
