"""MLP shape and initialization levers."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from levers.models.init import SCHEME_FOR_ACTIVATION, target_std
from levers.models.mlp import MLP, hidden_widths


def linears(model: MLP) -> list[nn.Linear]:
    return [m for m in model.hidden if isinstance(m, nn.Linear)]


def test_constant_and_funnel_widths():
    assert hidden_widths(3, 64, "constant") == [64, 64, 64]
    assert hidden_widths(4, 64, "funnel") == [64, 32, 16, 8]


def test_output_size_and_depth_come_from_arguments():
    model = MLP(in_features=8, out_features=3, depth=3, width=16)
    assert model(torch.zeros(5, 8)).shape == (5, 3)
    assert len(linears(model)) == 3


def test_depth_zero_is_a_linear_model():
    model = MLP(in_features=8, out_features=3, depth=0)
    assert len(model.hidden) == 0 and model.head.in_features == 8


def test_batchnorm_and_dropout_layers_appear_when_asked():
    model = MLP(4, 2, depth=2, width=8, batchnorm=True, dropout=0.5)
    kinds = [type(m) for m in model.hidden]
    assert kinds.count(nn.BatchNorm1d) == 2 and kinds.count(nn.Dropout) == 2
    assert all(layer.bias is None for layer in linears(model))


@pytest.mark.parametrize("activation", sorted(SCHEME_FOR_ACTIVATION.keys() - {"linear"}))
@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_auto_init_std_matches_the_scheme_for_the_activation(activation, distribution):
    torch.manual_seed(0)
    model = MLP(1000, 2, depth=2, width=1000, activation=activation, init_distribution=distribution)
    second = linears(model)[1]
    expected = target_std(SCHEME_FOR_ACTIVATION[activation], 1000, 1000)
    assert second.weight.std().item() == pytest.approx(expected, rel=0.05)


def test_schemes_differ_as_documented():
    assert target_std("he", 400, 100) == pytest.approx(math.sqrt(2 / 400))
    assert target_std("lecun", 400, 100) == pytest.approx(math.sqrt(1 / 400))
    assert target_std("glorot", 400, 100) == pytest.approx(math.sqrt(2 / 500))


def test_bias_init_sets_a_small_positive_bias():
    model = MLP(4, 2, depth=2, width=8, bias_init=0.01)
    assert all(torch.all(layer.bias == 0.01) for layer in linears(model))
