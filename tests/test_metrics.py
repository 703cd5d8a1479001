"""Task metrics (levers.metrics): a multi-target regression reports each target in its own units, and the mean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from levers.data.task import TaskSpec
from levers.metrics import build_metrics, target_columns
from levers.run import train


def test_each_target_gets_its_own_metrics_named_by_its_column_beside_the_aggregate():
    metrics = build_metrics(TaskSpec("regression", num_targets=2), binary_logit=False, target_names=("wage", "age"))
    target = torch.tensor([[10.0, 1000.0], [20.0, 2000.0], [30.0, 3000.0]])
    preds = target + torch.tensor([[1.0, 100.0], [-1.0, -100.0], [1.0, 100.0]])
    values = {name: float(value) for name, value in metrics(preds, target).items()}
    assert values["mae/wage"] == pytest.approx(1.0) and values["mae/age"] == pytest.approx(100.0)
    assert values["rmse/age"] == pytest.approx(100.0)
    assert values["mae"] == pytest.approx(50.5)  # the aggregate, kept
    assert values["r2/wage"] == pytest.approx(1 - 3 / 200) and values["r2/age"] == pytest.approx(1 - 3 / 200)


def test_targets_without_given_columns_are_named_by_position():
    assert target_columns(None, TaskSpec("regression", num_targets=2)) == ("target_0", "target_1")
    assert target_columns(["a", "b"], TaskSpec("regression", num_targets=2)) == ("a", "b")


def test_a_single_target_keeps_the_plain_names():
    metrics = build_metrics(TaskSpec("regression"), binary_logit=False, target_names=("wage",))
    assert sorted(metrics.keys()) == ["mae", "r2", "rmse"]


def test_a_multi_target_run_logs_test_metrics_per_target_column(make_cfg):
    cfg = make_cfg("data=wage", "data.target=[wage,age]", "data.limit=300", "trainer.max_epochs=1")
    train(cfg)
    test = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())["test"]
    assert {"test/mae/wage", "test/mae/age", "test/rmse/age", "test/r2/wage", "test/mae"} <= set(test)
    assert test["test/mae"] == pytest.approx((test["test/mae/wage"] + test["test/mae/age"]) / 2, rel=1e-4)
