"""Task metrics (levers.metrics): under class imbalance, beside accuracy, checked against scikit-learn; a
multi-target regression reports each target in its own units, and the mean."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score

from levers.build import build_data, module_for
from levers.data.task import TaskSpec
from levers.errors import LeversConfigError
from levers.metrics import build_metrics, loggable_names, near_zero_fraction, target_columns
from levers.run import train
from tests.in_training import run_with


def computed(module, output: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    metrics = build_metrics(module.task)
    metrics.update(*module._metric_inputs(output, target))
    return {name: value.item() for name, value in metrics.compute().items()}


def imbalanced_labels(rows: int, classes: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    shares = torch.tensor([0.8, *([0.2 / (classes - 1)] * (classes - 1))])
    return torch.multinomial(shares, rows, replacement=True, generator=generator)


@pytest.mark.parametrize("loss", ["auto", "cross_entropy", "focal"])
def test_binary_metrics_equal_scikit_learns(make_cfg, loss):
    cfg = make_cfg("data=breast_cancer", f"loss={loss}")
    module = module_for(cfg, build_data(cfg))
    target = imbalanced_labels(300, 2, seed=0)
    output = torch.randn(300, module.net(torch.zeros(1, 30)).shape[-1], generator=torch.Generator().manual_seed(1))
    output = output + target.unsqueeze(-1) * (1.0 if output.shape[-1] == 1 else torch.tensor([-0.5, 0.5]))
    score = output.squeeze(-1) if output.shape[-1] == 1 else output.softmax(-1)[:, 1]
    predicted = (score > (0.0 if output.shape[-1] == 1 else 0.5)).long().numpy()
    values = computed(module, output, target)
    assert values["acc"] == pytest.approx(accuracy_score(target, predicted), abs=1e-6)
    assert values["bal_acc"] == pytest.approx(balanced_accuracy_score(target, predicted), abs=1e-6)
    assert values["f1"] == pytest.approx(f1_score(target, predicted, average="macro"), abs=1e-6)
    assert values["auroc"] == pytest.approx(roc_auc_score(target, score.numpy()), abs=1e-6)


def test_multiclass_metrics_equal_scikit_learns_and_leave_auroc_to_binary_tasks(make_cfg):
    cfg = make_cfg("data=wine")
    module = module_for(cfg, build_data(cfg))
    target = imbalanced_labels(300, 3, seed=2)
    output = torch.randn(300, 3, generator=torch.Generator().manual_seed(3)) + torch.eye(3)[target]
    predicted = output.argmax(-1).numpy()
    values = computed(module, output, target)
    assert set(values) == {"acc", "bal_acc", "f1"}
    assert values["acc"] == pytest.approx(accuracy_score(target, predicted), abs=1e-6)
    assert values["bal_acc"] == pytest.approx(balanced_accuracy_score(target, predicted), abs=1e-6)
    assert values["f1"] == pytest.approx(f1_score(target, predicted, average="macro"), abs=1e-6)


def test_a_run_can_follow_val_auroc_and_keeps_its_highest_epoch(make_cfg):
    summary, cfg = run_with(make_cfg, "data=breast_cancer", "monitor=val/auroc", "monitor_mode=max")
    with (Path(cfg.paths.output_dir) / "metrics.csv").open() as rows:
        aurocs = [float(row["val/auroc"]) for row in csv.DictReader(rows) if row.get("val/auroc")]
    assert len(aurocs) == 3 and summary["best_value"] == pytest.approx(max(aurocs))
    assert {"test/acc", "test/bal_acc", "test/f1", "test/auroc"} <= set(summary["test"])
    assert summary["best_epoch"] == int(np.argmax(aurocs))


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    [
        (["data=breast_cancer", "monitor=val/auroc"], "monitor_mode", "max for monitor=val/auroc"),
        (["monitor=val/bal_acc"], "monitor_mode", "max for monitor=val/bal_acc"),
        (["monitor=val/loss", "monitor_mode=max"], "monitor_mode", "min for monitor=val/loss"),
        (["monitor=val/auroc", "monitor_mode=max"], "monitor", "a metric this task logs"),  # digits: 10 classes
    ],
)
def test_a_monitor_in_the_wrong_direction_or_of_another_task_is_refused(make_cfg, overrides, key, allowed):
    with pytest.raises(LeversConfigError) as error:
        train(make_cfg(*overrides))
    assert error.value.key == key and allowed in str(error.value)


def test_each_target_gets_its_own_metrics_named_by_its_column_beside_the_aggregate():
    metrics = build_metrics(TaskSpec("regression", num_targets=2), target_names=("wage", "age"))
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
    metrics = build_metrics(TaskSpec("regression"), target_names=("wage",))
    assert sorted(metrics.keys()) == ["mae", "r2", "rmse"]


def test_a_multi_target_run_logs_test_metrics_per_target_column(make_cfg):
    cfg = make_cfg("data=wage", "data.target=[wage,age]", "data.limit=300", "trainer.max_epochs=1")
    train(cfg)
    test = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())["test"]
    assert {"test/mae/wage", "test/mae/age", "test/rmse/age", "test/r2/wage", "test/mae"} <= set(test)
    assert test["test/mae"] == pytest.approx((test["test/mae/wage"] + test["test/mae/age"]) / 2, rel=1e-4)


def test_a_code_unit_is_off_below_one_percent_of_its_rows_largest():
    code = torch.tensor([[0.0, 0.005, 1.0, 0.5], [0.0, 0.0, 0.0, 0.0], [1e-4, 1e-4, 1e-4, 1e-4]])
    # a uniformly tiny row is not sparse (scale-free), an all-zero row is wholly off
    assert near_zero_fraction(code).tolist() == [0.5, 1.0, 0.0]


def test_reconstruction_logs_mse_and_the_explained_share_of_the_features_variance():
    metrics = build_metrics(TaskSpec("reconstruction", num_targets=2))
    target = torch.tensor([[0.0, 1.0], [0.0, -1.0], [0.0, 1.0], [0.0, -1.0]])  # a constant first feature
    values = {name: value.item() for name, value in metrics(target * 0.5, target).items()}
    assert sorted(values) == ["mae", "mse", "r2"]
    assert values["mse"] == pytest.approx(0.125) and values["r2"] == pytest.approx(0.75)  # the constant weighs 0


def test_a_reconstruction_run_may_monitor_its_mse_and_code_sparsity():
    names = loggable_names(TaskSpec("reconstruction", num_targets=64))
    assert {"val/loss", "val/mse", "val/r2", "val/code_sparsity"} <= names and "val/rmse" not in names
