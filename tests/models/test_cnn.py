"""CNN shape levers, and the CNN inside a real (short) training run."""

from __future__ import annotations

import pytest
import torch

from levers.errors import LeversConfigError
from levers.models.cnn import CNN
from tests.in_training import run_with


@pytest.mark.parametrize(("shape", "head", "code"), [([1, 8, 8], "avg", 64), ([1, 28, 28], "flatten", 64 * 7 * 7)])
def test_head_reads_a_pooled_or_flattened_code(shape, head, code):
    model = CNN(shape[1] * shape[2], 10, shape, channels=[32, 64], head=head)
    assert model.head.in_features == code
    assert model(torch.zeros(2, shape[1] * shape[2])).shape == (2, 10)


def test_avg_head_parameters_do_not_depend_on_the_image_size():
    small, large = CNN(64, 10, [1, 8, 8]), CNN(784, 10, [1, 28, 28])
    assert sum(p.numel() for p in small.parameters()) == sum(p.numel() for p in large.parameters())


def test_image_shape_must_match_the_features():
    with pytest.raises(LeversConfigError, match="data.image_shape"):
        CNN(64, 10, [1, 7, 7])


def test_cnn_learns_digits_well_above_chance(make_cfg):
    summary, _ = run_with(make_cfg, "model=cnn", "trainer.max_epochs=3")
    assert summary["test"]["test/acc"] > 0.6
