"""Task inference from the target."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from levers.data.task import infer_task
from levers.errors import LeversConfigError


def test_integer_labels_with_many_classes_are_multiclass():
    assert infer_task(np.arange(100) % 10).kind == "multiclass"
    assert infer_task(np.arange(100) % 10).num_classes == 10


def test_two_classes_are_binary():
    assert infer_task(np.array([0, 1, 1, 0])).kind == "binary"


def test_continuous_floats_are_regression():
    task = infer_task(np.linspace(0, 1, 50))
    assert (task.kind, task.num_targets) == ("regression", 1)


def test_several_target_columns_are_multi_target_regression():
    assert infer_task(np.zeros((10, 3))).num_targets == 3


def test_explicit_task_contradicting_the_classes_is_rejected():
    with pytest.raises(LeversConfigError, match="use multiclass"):
        infer_task(np.arange(30) % 3, requested="binary")


def test_explicit_regression_on_integers_is_honoured():
    assert infer_task(np.arange(30) % 3, requested="regression").kind == "regression"


def test_reconstruction_is_only_ever_asked_for():
    assert infer_task(np.random.default_rng(0).normal(size=50)).kind == "regression"
    with pytest.raises(LeversConfigError, match="reconstruction"):
        infer_task(np.arange(10), requested="autoencode")


def test_a_reconstruction_target_is_the_scaled_features_unstratified(make_cfg):
    from levers.config.settings import data_settings
    from levers.data.datamodule import TabularDataModule

    data = TabularDataModule(data_settings(make_cfg("data.task=reconstruction").data), "standard", seed=0)
    features, target = data.tensors["train"]
    assert torch.equal(features, target) and (data.task.kind, data.task.num_targets) == ("reconstruction", 64)
    assert torch.equal(data.target_scaler.scale, data.feature_scaler.scale)
    assert torch.equal(data.target_scaler.offset, data.feature_scaler.offset)
    assert data.class_names == []
