"""CNN shape levers."""

from __future__ import annotations

import pytest
import torch

from levers.errors import LeversConfigError
from levers.models.cnn import CNN


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
