"""Loss choice and its compatibility with the task (practice guide, section 2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hydra.utils import instantiate
from torch import nn

from levers.data.task import TaskSpec
from levers.errors import LeversConfigError

# Which tasks each loss serves; `auto` takes the first loss listed for the task.
COMPATIBLE_TASKS: dict[str, tuple[str, ...]] = {
    "cross_entropy": ("multiclass", "binary"),
    "bce": ("binary",),
    "mse": ("regression",),
    "mae": ("regression",),
    "huber": ("regression",),
}
AUTO_LOSS = {"multiclass": "cross_entropy", "binary": "bce", "regression": "mse"}
AUTO_TARGETS = {
    "cross_entropy": "torch.nn.CrossEntropyLoss",
    "bce": "torch.nn.BCEWithLogitsLoss",
    "mse": "torch.nn.MSELoss",
}


@dataclass(frozen=True)
class LossChoice:
    name: str
    module: nn.Module

    @property
    def single_logit(self) -> bool:
        """Binary classification through one logit and a sigmoid (BCE with logits), rather than one per class:
        the network has one output, the loss takes float targets, metrics and prediction apply a sigmoid."""
        return isinstance(self.module, nn.BCEWithLogitsLoss)

    def output_units(self, task: TaskSpec) -> int:
        """One logit for bce (sigmoid), one per class for cross-entropy (softmax), one per target otherwise."""
        if self.single_logit:
            return 1
        return task.num_classes if task.is_classification else task.num_targets


def build_loss(config: Mapping[str, Any], task: TaskSpec) -> LossChoice:
    name = config["name"]
    if name == "auto":
        name = AUTO_LOSS[task.kind]
        config = {"_target_": AUTO_TARGETS[name]}
    if task.kind not in COMPATIBLE_TASKS[name]:
        allowed = [loss for loss, tasks in COMPATIBLE_TASKS.items() if task.kind in tasks]
        raise LeversConfigError("loss", name, f"a {task.kind} task takes one of {', '.join(allowed)} (or auto)")
    params = {key: value for key, value in config.items() if key != "name"}
    return LossChoice(name=name, module=instantiate(params, _convert_="all"))
