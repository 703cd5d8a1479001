"""The training flow end to end, in-process, on real bundled data sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from levers.run import train
from tests.in_training import run_with


def read_summary(cfg) -> dict:
    return json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())


def test_default_run_reaches_097_test_accuracy_on_digits(make_cfg):
    cfg = make_cfg(fast=False)
    cfg.trainer.enable_progress_bar = False
    best = train(cfg)
    summary = read_summary(cfg)
    assert summary["status"] == "completed"
    assert summary["task"] == "multiclass" and summary["loss"] == "cross_entropy"
    assert summary["test"]["test/acc"] >= 0.97
    assert summary["best_value"] == pytest.approx(best)


def test_run_writes_config_metrics_checkpoints_and_summary(make_cfg):
    cfg = make_cfg()
    train(cfg)
    out = Path(cfg.paths.output_dir)
    assert {p.name for p in (out / "checkpoints").iterdir()} >= {"last.ckpt"}
    summary = read_summary(cfg)
    assert Path(summary["best_checkpoint"]).parent == out / "checkpoints"
    assert summary["epochs_run"] == 3 and 0 <= summary["best_epoch"] < 3
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"epoch", "train/loss", "val/loss", "val/acc", "test/acc"} <= set(header)
    assert set(summary["test"]) == {"test/loss", "test/acc", "test/bal_acc", "test/f1"}


def test_test_metrics_come_from_the_best_checkpoint_not_the_last_epoch(make_cfg):
    cfg = make_cfg("trainer.max_epochs=8", "optimizer.lr=0.05")  # a high lr makes later epochs worse
    train(cfg)
    summary = read_summary(cfg)
    best = torch.load(summary["best_checkpoint"], weights_only=True)
    assert best["epoch"] == summary["best_epoch"]


def test_same_seed_gives_identical_metrics(make_cfg, tmp_path):
    first = make_cfg("seed=3")
    train(first)
    again = make_cfg("seed=3")
    again.paths.output_dir = str(tmp_path / "again")
    train(again)
    assert read_summary(first)["test"] == read_summary(again)["test"]
    assert read_summary(first)["best_value"] == read_summary(again)["best_value"]


def test_different_seeds_give_different_metrics(make_cfg, tmp_path):
    first = make_cfg("seed=3")
    train(first)
    other = make_cfg("seed=4")
    other.paths.output_dir = str(tmp_path / "other")
    train(other)
    assert read_summary(first)["best_value"] != read_summary(other)["best_value"]


def test_binary_task_is_inferred_with_one_logit_and_bce(make_cfg):
    cfg = make_cfg("data=breast_cancer")
    train(cfg)
    summary = read_summary(cfg)
    assert (summary["task"], summary["loss"]) == ("binary", "bce")
    assert summary["test"]["test/acc"] > 0.85


def test_regression_metrics_are_reported_in_original_target_units(make_cfg):
    cfg = make_cfg("data=diabetes", "loss=huber", "trainer.max_epochs=30")
    train(cfg)
    summary = read_summary(cfg)
    assert (summary["task"], summary["loss"]) == ("regression", "huber")
    # Diabetes progression spans 25..346 with std ~77: an MAE in scaled units would be below 1.
    assert 30 < summary["test"]["test/mae"] < 70
    assert summary["test"]["test/r2"] > 0.2


def test_train_returns_the_best_monitored_value(make_cfg):
    cfg = make_cfg("monitor=val/acc", "monitor_mode=max")
    best = train(cfg)
    summary = read_summary(cfg)
    assert summary["monitor"] == "val/acc" and best == summary["best_value"]
    assert 0.5 < best <= 1.0


def test_last_checkpoint_is_the_last_epoch_even_when_it_was_not_the_best(make_cfg):
    # The best checkpoint maximizing val/loss: epoch 0 (the highest loss) stays "best", so no later epoch saves one.
    cfg = make_cfg("callbacks.model_checkpoint.mode=max", "trainer.max_epochs=3", "callbacks.early_stopping=null")
    train(cfg)
    checkpoints = Path(cfg.paths.output_dir) / "checkpoints"
    assert {p.name for p in checkpoints.iterdir()} == {"epoch_000.ckpt", "last.ckpt"}
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["epoch"] == 2


def test_swa_tests_the_averaged_weights_not_the_best_checkpoint(make_cfg):
    summary, _ = run_with(
        make_cfg, "regularization=swa", "regularization.swa_epoch_start=1", "regularization.swa_annealing_epochs=1",
        "trainer.max_epochs=4",
    )  # fmt: skip
    assert summary["tested_weights"] == "swa" and summary["best_checkpoint"] == ""
    assert summary["test"]["test/acc"] > 0.8
