"""Compound scaling: one phi grows the CNN's depth, width and resolution by EfficientNet's law."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from levers.errors import LeversConfigError
from levers.models.cnn import CNN
from levers.models.compound_scaling import compound_scale
from tests.in_training import run_with


def conv_blocks(model: CNN) -> list[torch.nn.Conv2d]:
    return [layer for layer in model.hidden if isinstance(layer, torch.nn.Conv2d)]


def flops(model: CNN, features: int) -> int:
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, features))
    return counter.get_total_flops()


@pytest.mark.parametrize("phi", [1, 2, 3])
def test_the_built_cnn_follows_the_scaling_law_in_depth_width_and_resolution(phi):
    model = CNN(784, 10, [1, 28, 28], channels=[32, 64], scale=phi)
    blocks = conv_blocks(model)
    assert len(blocks) == math.ceil(2 * 1.2**phi)
    assert blocks[0].out_channels == round(32 * 1.1**phi) and blocks[-1].out_channels == round(64 * 1.1**phi)
    assert model.resolution == (round(28 * 1.15**phi),) * 2
    assert model(torch.zeros(3, 784)).shape == (3, 10)


def test_phi_zero_is_the_network_as_configured():
    plain, scaled = CNN(64, 10, [1, 8, 8]), CNN(64, 10, [1, 8, 8], scale=0)
    assert [c.out_channels for c in conv_blocks(scaled)] == [c.out_channels for c in conv_blocks(plain)] == [32, 64]
    assert scaled.resolution == (8, 8)


def test_each_step_of_phi_about_doubles_the_flops():
    counts = [flops(CNN(784, 10, [1, 28, 28], channels=[32, 64], scale=phi), 784) for phi in range(4)]
    ratios = [later / earlier for earlier, later in itertools.pairwise(counts)]
    assert all(1.4 < ratio < 2.8 for ratio in ratios), ratios  # 1.2 * 1.1^2 * 1.15^2 = 1.92, before rounding


def test_bases_below_one_and_a_negative_phi_are_refused_naming_the_key():
    with pytest.raises(LeversConfigError, match="model.scale=-1"):
        compound_scale([32], (8, 8), -1)
    with pytest.raises(LeversConfigError, match="model.scale_width=0.9"):
        compound_scale([32], (8, 8), 1, beta=0.9)


def test_a_scaled_cnn_trains_from_the_command_line(make_cfg):
    summary, _ = run_with(make_cfg, "model=cnn", "model.scale=1", "trainer.max_epochs=2")
    assert summary["status"] == "completed" and summary["test"]["test/acc"] > 0.5
