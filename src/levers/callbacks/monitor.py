"""Layer monitor: every N training steps, per-layer statistics that show why a network does not learn.

Activations (output of every activation module): mean/std/min/max, the fraction of dead ReLU units (zero for every
input of the monitoring batch), the fraction of saturated tanh/sigmoid outputs and the gradient norm reaching the
layer. Parameterized layers (Linear, Conv, a recurrent layer's weight_ih/hh matrices): gradient norm, update-to-weight
ratio of the step and, for Linear and Conv, identical units (two rows of the weight matrix equal: symmetry no gradient
step can break). Hooks are attached only for the monitored step, so
the other steps run at full speed; statistics go to the run's loggers (metrics.csv) as `monitor/<layer>/<stat>`,
and at the end (or when the run fails) to monitor.json and monitor.png. `<layer>` is the module's path (hidden.1);
monitor.json's `label` and the plot name it by its role: "layer 1 ReLU (256)", "output Linear (10)".
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from levers.io import write_json_atomic

log = logging.getLogger(__name__)

DEAD_CAPABLE = (nn.ReLU, nn.ReLU6)
SATURATING = {nn.Tanh: (-1.0, 1.0), nn.Sigmoid: (0.0, 1.0)}
SATURATION_MARGIN = 0.01  # within 1% of the output range's ends the derivative is below ~0.02
SIZES = ("out_features", "out_channels", "hidden_size")  # a layer's units, by its kind
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.SiLU, nn.Softplus)


class LayerMonitor(pl.Callback):
    def __init__(self, every_n_steps: int = 20, output_dir: str | Path = ".", plot: bool = True) -> None:
        self.every_n_steps, self.output_dir, self.plot = every_n_steps, Path(output_dir), plot
        self.history: dict[str, dict[str, Any]] = {}
        self._handles: list[Any] = []
        self._armed = False  # this step is monitored (a recurrent net has no activation module to hook)
        self._pending: dict[str, dict[str, float]] = defaultdict(dict)
        self._before: dict[str, torch.Tensor] = {}

    # --- arming for one step -----------------------------------------------------------------------------
    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, idx: int) -> None:
        if trainer.global_step % self.every_n_steps != 0:
            return
        self._armed = True
        for name, module in _activation_layers(pl_module):
            self._handles.append(module.register_forward_hook(self._activation_hook(name, type(module))))

    def _activation_hook(self, name: str, kind: type[nn.Module]):
        def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            self._pending[name].update(activation_stats(output.detach(), kind))
            if output.requires_grad:
                output.register_hook(lambda grad: self._pending[name].update(out_grad_norm=_norm(grad)))

        return hook

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any) -> None:
        if not self._armed:
            return
        for name, module in _weight_layers(pl_module):
            grads = [p.grad for p in module.parameters(recurse=False) if p.grad is not None]
            if grads:
                self._pending[name]["grad_norm"] = _norm(torch.cat([g.flatten() for g in grads]))
            self._before[name] = _flat_matrices(module).clone()

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        if not self._armed:
            return
        self._armed = False
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        for name, module in _weight_layers(pl_module):
            weight = _flat_matrices(module)
            if name in self._before:
                before = self._before.pop(name)
                self._pending[name]["update_ratio"] = _norm(weight - before) / max(_norm(before), 1e-12)
            if isinstance(getattr(module, "weight", None), nn.Parameter):  # rows = units (Linear, Conv)
                self._pending[name]["identical_units"] = float(identical_units(module))
        self._record(trainer, pl_module, trainer.global_step - 1)

    def _record(self, trainer: pl.Trainer, pl_module: pl.LightningModule, step: int) -> None:
        metrics: dict[str, float] = {}
        kinds = dict(_activation_layers(pl_module)) | dict(_weight_layers(pl_module))
        labels = layer_labels(_net(pl_module))
        for name, stats in self._pending.items():
            entry = self.history.setdefault(
                name, {"type": type(kinds[name]).__name__, "label": labels.get(name, name), "steps": [], "stats": {}}
            )
            entry["steps"].append(step)
            for stat, value in stats.items():
                entry["stats"].setdefault(stat, []).append(value)
                metrics[f"monitor/{name}/{stat}"] = value
        self._pending.clear()
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)

    # --- saving ------------------------------------------------------------------------------------------
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            self.save()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        if trainer.is_global_zero:
            self.save()

    def save(self) -> None:
        write_json_atomic(
            self.output_dir / "monitor.json", {"every_n_steps": self.every_n_steps, "layers": self.history}
        )
        if self.plot and self.history:
            from levers.diagnostics.plots import plot_monitor, save_figure  # matplotlib only when a plot is wanted

            save_figure(plot_monitor, self.history, self.output_dir / "monitor.png")
        log.info("layer monitor: %s", summarize(self.history) or "no measurements")


def activation_stats(output: torch.Tensor, kind: type[nn.Module]) -> dict[str, float]:
    """Range of a layer's output; dead units (ReLU) and saturated outputs (tanh/sigmoid) where they apply."""
    values = output.float()
    stats = {
        "act_mean": values.mean().item(),
        "act_std": values.std().item() if values.numel() > 1 else 0.0,
        "act_min": values.min().item(),
        "act_max": values.max().item(),
    }
    if issubclass(kind, DEAD_CAPABLE):
        per_unit = values.transpose(0, 1).reshape(values.shape[1], -1)  # units x (samples * positions)
        stats["dead_frac"] = (per_unit == 0).all(dim=1).float().mean().item()
    for saturating, (low, high) in SATURATING.items():
        if issubclass(kind, saturating):
            margin = SATURATION_MARGIN * (high - low)
            stats["saturated_frac"] = ((values <= low + margin) | (values >= high - margin)).float().mean().item()
    return stats


def identical_units(module: nn.Module) -> int:
    """Units whose incoming weights (and bias) equal another unit's: they compute the same thing forever."""
    weight = module.weight.detach()
    rows = weight.reshape(weight.shape[0], -1)
    bias = getattr(module, "bias", None)
    if isinstance(bias, torch.Tensor):
        rows = torch.cat([rows, bias.detach()[:, None]], dim=1)
    return rows.shape[0] - torch.unique(rows, dim=0).shape[0]


def layer_labels(net: nn.Module) -> dict[str, str]:
    """Module path -> its role, as a reader counts layers: hidden.0 -> "layer 1 Linear (256)", hidden.1 -> "layer 1
    ReLU (256)" (the activation of that layer, 256 units or channels), head -> "output Linear (10)". A weighted
    module (Linear, Conv) starts the next layer; what follows it (activation, norm, dropout) belongs to it."""
    labels: dict[str, str] = {}
    index, units = 0, None
    for name, module in net.named_modules():
        weighted = bool(_matrices(module))
        size = next((getattr(module, key) for key in SIZES if getattr(module, key, None)), None)
        if name.split(".")[0] == "head":
            labels[name] = f"output {type(module).__name__}" + (f" ({size})" if size else "")
            continue
        if weighted:
            index, units = index + 1, size
        if name and (weighted or isinstance(module, ACTIVATIONS)):
            labels[name] = f"layer {index} {type(module).__name__}" + (f" ({units})" if units else "")
    return labels


def summarize(history: dict[str, dict[str, Any]]) -> str:
    """One clause per layer with a finding worth reading at the last measurement."""
    notes = []
    for path, entry in history.items():
        name = entry.get("label", path)
        last = {stat: values[-1] for stat, values in entry["stats"].items() if values}
        if last.get("dead_frac", 0) > 0.5:
            notes.append(f"{name}: {last['dead_frac']:.0%} dead units")
        if last.get("saturated_frac", 0) > 0.5:
            notes.append(f"{name}: {last['saturated_frac']:.0%} saturated")
        if last.get("identical_units", 0) > 0:
            notes.append(f"{name}: {int(last['identical_units'])} identical units (symmetry)")
    return "; ".join(notes)


def _activation_layers(pl_module: pl.LightningModule) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in _net(pl_module).named_modules() if isinstance(m, ACTIVATIONS)]


def _weight_layers(pl_module: pl.LightningModule) -> list[tuple[str, nn.Module]]:
    """Modules with weight matrices of their own that train: Linear, Conv, and a GRU/LSTM's weight_ih/hh_l<k>."""
    return [(name, m) for name, m in _net(pl_module).named_modules() if name and _matrices(m)]


def _matrices(module: nn.Module) -> list[nn.Parameter]:
    return [p for p in module.parameters(recurse=False) if p.ndim >= 2 and p.requires_grad]


def _flat_matrices(module: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in _matrices(module)])


def _net(pl_module: pl.LightningModule) -> nn.Module:
    return getattr(pl_module, "net", pl_module)


def _norm(tensor: torch.Tensor) -> float:
    return torch.linalg.vector_norm(tensor.float()).item()
