"""`regularization=ema`: the weights validated, checkpointed, tested and evaluated are the moving average."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from levers.build import build_data, build_trainer, fused_request
from levers.errors import LeversConfigError
from levers.fused_steps import fused_steps_for
from levers.run import train
from levers.serving.checkpoint import restore
from tests.conftest import levers_command
from tests.in_training import run_with

EMA_RUN = ("data=wine", "regularization=ema", "regularization.ema_decay=0.9", "callbacks.early_stopping=null")


class StepWeights(pl.Callback):
    """The raw weights after every optimizer step."""

    def __init__(self) -> None:
        self.steps: list[list[torch.Tensor]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.steps.append([p.detach().clone() for p in pl_module.parameters()])


def test_the_last_checkpoint_holds_the_average_computed_by_hand_over_every_step(make_cfg):
    recorder = StepWeights()
    summary, cfg = run_with(make_cfg, *EMA_RUN, callbacks=[recorder])
    checkpoint = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert len(recorder.steps) == checkpoint["global_step"] > 3
    average = recorder.steps[0]  # the first update copies the weights
    for weights in recorder.steps[1:]:
        average = [0.9 * a + 0.1 * w for a, w in zip(average, weights, strict=True)]
    names = [name for name, _ in restore(summary["best_checkpoint"]).module.named_parameters()]
    for name, expected, raw in zip(names, average, recorder.steps[-1], strict=True):
        torch.testing.assert_close(checkpoint["state_dict"][name], expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(checkpoint["current_model_state"][name], raw)
    assert not torch.allclose(average[0], recorder.steps[-1][0])  # the average is not the last step's weights


def test_the_tested_and_evaluated_weights_are_the_best_checkpoints_average(make_cfg, tmp_path):
    summary, cfg = run_with(make_cfg, *EMA_RUN)
    best = summary["best_checkpoint"]
    features, labels = build_data(cfg).tensors["test"]
    averaged = restore(best).module
    raw = restore(best).module
    raw.load_state_dict(torch.load(best, weights_only=True)["current_model_state"])
    with torch.no_grad():
        average_loss = averaged._loss(averaged(features), labels).item()
        raw_loss = raw._loss(raw(features), labels).item()
    assert abs(average_loss - raw_loss) > 1e-3
    assert summary["test"]["test/loss"] == pytest.approx(average_loss, rel=1e-5)
    evaluated = levers_command("eval", tmp_path / "eval", ckpt_path=best)
    assert evaluated["test"]["test/loss"] == pytest.approx(average_loss, rel=1e-5)


def test_training_continued_from_a_checkpoint_continues_its_average(make_cfg):
    first = make_cfg(*EMA_RUN, "trainer.max_epochs=2")
    train(first)
    last = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    then = make_cfg(*EMA_RUN, "trainer.max_epochs=3", f"ckpt_path={last}")
    train(then)
    before = torch.load(last, weights_only=True)
    after = torch.load(Path(then.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert after["averaging_state"]["n_averaged"] == after["global_step"] == before["global_step"] * 3 // 2


def test_ema_keeps_lightnings_loop_one_average_update_per_optimizer_step(make_cfg):
    trainer = build_trainer(make_cfg("regularization=ema"), [])
    assert fused_steps_for(fused_request(make_cfg("regularization=ema")), trainer) is None
    with pytest.raises(LeversConfigError, match="EMA uses per-batch hook on_train_batch_end"):
        fused_steps_for(fused_request(make_cfg("regularization=ema", "steps_per_call=4")), trainer)


def test_ema_and_swa_together_are_refused(make_cfg):
    with pytest.raises(LeversConfigError, match="regularization.ema_decay=0.99 .*null with SWA on"):
        build_trainer(make_cfg("regularization=ema", "regularization.swa_lr=0.01"), [])


@pytest.mark.parametrize("decay", ["0", "1", "1.5"])
def test_a_decay_outside_0_1_is_refused_at_start_up(make_cfg, decay):
    from levers.config.validate import validate_config

    with pytest.raises(LeversConfigError, match=r"regularization.ema_decay=.* null \(off\) or in \(0, 1\)"):
        validate_config(make_cfg("regularization=ema", f"regularization.ema_decay={decay}"))
