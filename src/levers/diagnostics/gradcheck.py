"""Gradient check (practice guide, section 9): autograd against central finite differences, in float64.

The function checked is exactly what training differentiates: the module's `training_step` (network + loss +
penalties) on a tiny batch of training rows, as a function of each parameter tensor. For every tensor, a few
seeded coordinates and one random direction over the whole tensor are compared:
``(f(p + eps*v) - f(p - eps*v)) / (2 eps)`` against ``<grad f, v>``. `torch.autograd.gradcheck` checks the same
identity but builds the full Jacobian (two forward passes per parameter element: minutes for a 100k-parameter
MLP) and reports only pass/fail; this reports the max relative error per parameter tensor.
"""

from __future__ import annotations

import copy
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from levers.config.schema.diagnostics import GradcheckConfig
from levers.errors import LeversRunFailed
from levers.io import write_json_atomic

log = logging.getLogger(__name__)

DENOMINATOR_FLOOR = 1e-6  # below this, both gradients are zero for practical purposes


class GradientCheckFailed(LeversRunFailed):
    status = "gradcheck_failed"


def relative_error(analytic: float, numeric: float) -> float:
    return abs(analytic - numeric) / max(abs(analytic), abs(numeric), DENOMINATOR_FLOOR)


def check_gradients(
    module: pl.LightningModule,
    batch: tuple[torch.Tensor, torch.Tensor],
    samples_per_tensor: int = 8,
    eps: float = 1e-6,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Per parameter tensor: the max relative error between autograd and central differences."""
    model = copy.deepcopy(module).double().eval()  # eval: no dropout noise between the two evaluations
    model.loss_fn = _FloatTargetsLikeOutput(model.loss_fn)
    features, target = batch
    batch64 = (features.double(), target if not target.is_floating_point() else target.double())

    def objective() -> torch.Tensor:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # `self.log` outside a Trainer only warns
            return model.training_step(batch64, 0)

    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    grads = torch.autograd.grad(objective(), [p for _, p in named], allow_unused=True)
    generator = torch.Generator().manual_seed(seed)
    report = []
    for (name, param), grad in zip(named, grads, strict=True):
        grad = torch.zeros_like(param) if grad is None else grad
        directions = _directions(param, samples_per_tensor, generator)
        errors = [
            relative_error(float((grad * v).sum()), _central_difference(objective, param, v, eps)) for v in directions
        ]
        report.append(
            {"parameter": name, "shape": list(param.shape), "checked": len(errors), "max_rel_error": max(errors)}
        )
    return report


class _FloatTargetsLikeOutput(nn.Module):
    """The module casts bce targets with `.float()`, which would make the whole loss float32 (finite differences of
    1e-6 then vanish in rounding); class indices stay integers."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss(output, target.to(output.dtype) if target.is_floating_point() else target)


def _directions(param: torch.Tensor, samples: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Unit vectors along `samples` seeded coordinates, plus one random direction over the whole tensor."""
    picks = torch.randperm(param.numel(), generator=generator)[:samples]
    directions = []
    for index in picks.tolist():
        v = torch.zeros(param.numel(), dtype=param.dtype)
        v[index] = 1.0
        directions.append(v.view_as(param))
    random = torch.randn(param.shape, generator=generator, dtype=param.dtype)
    directions.append(random / random.norm())
    return directions


@torch.no_grad()
def _central_difference(objective, param: torch.Tensor, direction: torch.Tensor, eps: float) -> float:
    param.add_(direction, alpha=eps)
    plus = float(objective())
    param.add_(direction, alpha=-2 * eps)
    minus = float(objective())
    param.add_(direction, alpha=eps)
    return (plus - minus) / (2 * eps)


def run_gradcheck(settings: GradcheckConfig, built: Any, seed: int, output_dir: Path) -> float:
    """`mode=gradcheck`: check the composed model + loss; raise (exit non-zero) above the tolerance."""
    features, target = built.data.tensors["train"]
    rows = min(settings.batch_size, len(target))
    report = check_gradients(
        built.module, (features[:rows], target[:rows]), settings.samples_per_tensor, settings.eps, seed
    )
    worst = max(entry["max_rel_error"] for entry in report)
    failing = [entry for entry in report if not entry["max_rel_error"] <= settings.tolerance]
    write_json_atomic(
        output_dir / "gradcheck.json",
        {
            "passed": not failing,
            "tolerance": settings.tolerance,
            "eps": settings.eps,
            "rows": rows,
            "parameters": report,
        },
    )
    for entry in report:
        flag = "FAIL" if entry in failing else "ok"
        log.info("gradcheck %-4s %-28s max rel error %.2e", flag, entry["parameter"], entry["max_rel_error"])
    if failing:
        names = ", ".join(f"{e['parameter']} ({e['max_rel_error']:.2e})" for e in failing)
        raise GradientCheckFailed(
            f"gradient check FAILED above tolerance {settings.tolerance:g}: {names}; a custom layer's backward or a"
            " non-differentiable operation in the forward pass is wrong"
        )
    log.info("gradient check PASS: max relative error %.2e <= %g", worst, settings.tolerance)
    return worst if math.isfinite(worst) else float("nan")
