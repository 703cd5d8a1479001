"""Gradient check: passes on the composed default model, catches a custom layer with a wrong backward."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from levers.build import build
from levers.diagnostics.gradcheck import GradientCheckFailed, check_gradients
from levers.run import run, run_diagnostic


class _ReLUWithWrongBackward(torch.autograd.Function):
    """Forward is ReLU; backward forgets to mask by the input's sign (passes the gradient of negative inputs too)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad


class WrongReLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ReLUWithWrongBackward.apply(x)


def test_gradcheck_mode_passes_on_the_default_model_and_reports_every_parameter(make_cfg):
    cfg = make_cfg("mode=gradcheck")
    worst = run(cfg)
    report = json.loads((Path(cfg.paths.output_dir) / "gradcheck.json").read_text())
    assert report["passed"] and worst < 1e-6
    names = [entry["parameter"] for entry in report["parameters"]]
    assert names == [f"net.{layer}.{p}" for layer in ("hidden.0", "hidden.3", "head") for p in ("weight", "bias")]
    assert all(entry["checked"] == 9 for entry in report["parameters"])  # 8 coordinates + 1 random direction


@pytest.mark.parametrize("data", ["breast_cancer", "diabetes"])
def test_gradcheck_passes_with_the_bce_and_mse_losses_too(make_cfg, data):
    assert run(make_cfg("mode=gradcheck", f"data={data}")) < 1e-6  # bce targets are cast; the check stays float64


def test_wrong_custom_backward_is_caught_in_the_layers_below_it(make_cfg):
    built = build(make_cfg("regularization=none"))
    built.module.net.hidden[1] = WrongReLU()  # the first hidden ReLU: Linear(0) -> WrongReLU(1) -> Linear(2) -> ...
    features, target = built.data.tensors["train"]
    report = {e["parameter"]: e["max_rel_error"] for e in check_gradients(built.module, (features[:4], target[:4]))}
    assert report["net.hidden.0.weight"] > 0.1 and report["net.hidden.0.bias"] > 0.1
    assert report["net.head.weight"] < 1e-6  # above the faulty layer the gradients are still right


def test_gradcheck_mode_fails_loudly_above_tolerance(make_cfg):
    cfg = make_cfg("mode=gradcheck", "regularization=none")
    built = build(cfg)
    built.module.net.hidden[1] = WrongReLU()
    with pytest.raises(GradientCheckFailed, match=r"net\.hidden\.0\.weight \(\d"):
        run_diagnostic(cfg, built)
    assert json.loads((Path(cfg.paths.output_dir) / "gradcheck.json").read_text())["passed"] is False
