"""Loss choice and its compatibility with the task (practice guide, section 2); class weights and the focal loss
for imbalanced classes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch import nn

from levers.data.task import TaskSpec
from levers.errors import LeversConfigError

# Which tasks each loss serves; `auto` takes the first loss listed for the task.
COMPATIBLE_TASKS: dict[str, tuple[str, ...]] = {
    "cross_entropy": ("multiclass", "binary"),
    "bce": ("binary",),
    "focal": ("multiclass", "binary"),
    "mse": ("regression", "reconstruction"),
    "mae": ("regression", "reconstruction"),
    "huber": ("regression", "reconstruction"),
}
AUTO_LOSS = {"multiclass": "cross_entropy", "binary": "bce", "regression": "mse", "reconstruction": "mse"}
AUTO_TARGETS = {
    "cross_entropy": "torch.nn.CrossEntropyLoss",
    "bce": "torch.nn.BCEWithLogitsLoss",
    "mse": "torch.nn.MSELoss",
}
CLASS_WEIGHTS_KEY = "class_weights"
NO_WEIGHTS = (None, "none")


class FocalLoss(nn.Module):
    """Focal loss (Lin et al., 2017): cross-entropy scaled by (1 - p_t)^gamma, so well-classified rows (mostly the
    majority class) count less and the rare, hard ones more. gamma=0 without alpha is cross-entropy.

    `single_logit`: binary classification on one logit (sigmoid), as torchvision's sigmoid_focal_loss, with `alpha`
    weighting the positive class and 1 - alpha the negative one; otherwise one logit per class (softmax), where
    classes are weighted through `weight` (loss.class_weights). `weight` (one per class) makes the mean a weighted
    mean, sum(w_y * loss) / sum(w_y), as torch's CrossEntropyLoss does; it is a buffer, so a checkpoint carries it.
    """

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: float | None = None,
        weight: torch.Tensor | None = None,
        single_logit: bool = False,
    ) -> None:
        super().__init__()
        self.gamma, self.alpha, self.single_logit = gamma, alpha, single_logit
        self.register_buffer("weight", weight)

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.single_logit:  # output (N,) logits, target (N,) floats 0/1
            log_p_t = -F.binary_cross_entropy_with_logits(output, target, reduction="none")
            labels = target.long()
        else:  # output (N, C) logits, target (N,) class indices
            log_p_t = F.log_softmax(output, dim=-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
            labels = target
        loss = -((1 - log_p_t.exp()) ** self.gamma) * log_p_t
        if self.alpha is not None:
            loss = loss * torch.where(labels == 1, self.alpha, 1 - self.alpha)
        if self.weight is None:
            return loss.mean()
        row_weights = self.weight[labels]
        return (row_weights * loss).sum() / row_weights.sum()


@dataclass(frozen=True)
class LossChoice:
    name: str
    module: nn.Module

    @property
    def single_logit(self) -> bool:
        """Binary classification through one logit and a sigmoid (BCE with logits, binary focal), rather than one per
        class: the network has one output, the loss takes float targets, metrics and prediction apply a sigmoid."""
        return isinstance(self.module, nn.BCEWithLogitsLoss) or getattr(self.module, "single_logit", False)

    def output_units(self, task: TaskSpec) -> int:
        """One logit for bce (sigmoid), one per class for cross-entropy (softmax), one per target otherwise."""
        if self.single_logit:
            return 1
        return task.num_classes if task.is_classification else task.num_targets


def build_loss(config: Mapping[str, Any], task: TaskSpec, train_target: torch.Tensor | None = None) -> LossChoice:
    """The configured loss for `task`. `train_target`: the train split's labels, which `class_weights=balanced`
    counts; None when the module is rebuilt from a checkpoint, whose state dict then holds the weights."""
    name = config["name"]
    weights_spec = config.get(CLASS_WEIGHTS_KEY, "none")
    if name == "auto":
        name = AUTO_LOSS[task.kind]
        config = {"_target_": AUTO_TARGETS[name]}
    if task.kind not in COMPATIBLE_TASKS[name]:
        allowed = [loss for loss, tasks in COMPATIBLE_TASKS.items() if task.kind in tasks]
        raise LeversConfigError("loss", name, f"a {task.kind} task takes one of {', '.join(allowed)} (or auto)")
    params = {key: value for key, value in config.items() if key not in ("name", CLASS_WEIGHTS_KEY)}
    if name == "focal":
        if task.kind != "binary" and params.get("alpha") is not None:
            raise LeversConfigError(
                "loss.alpha", params["alpha"], "null for a multiclass task (weight classes with loss.class_weights)"
            )
        params["single_logit"] = task.kind == "binary"
    weights = class_weights(weights_spec, task, train_target)
    if weights is not None and name == "bce":
        # One logit: the negative class's weight is 1, the positive's w1/w0 (torch's pos_weight, n_neg/n_pos when
        # balanced); the mean then differs from a weighted mean by the constant w0 only.
        params["pos_weight"] = weights[1:] / weights[0]
    elif weights is not None:
        params["weight"] = weights
    return LossChoice(name=name, module=instantiate(params, _convert_="all"))


def class_weights(spec: Any, task: TaskSpec, train_target: torch.Tensor | None) -> torch.Tensor | None:
    """One weight per class from `loss.class_weights`: none, balanced (n_samples / (n_classes * count_c), from the
    train split only, as scikit-learn's compute_class_weight), or a list with one positive number per class."""
    if spec in NO_WEIGHTS:
        return None
    if not task.is_classification:
        raise LeversConfigError(f"loss.{CLASS_WEIGHTS_KEY}", spec, f"none for a {task.kind} task")
    classes = task.num_classes
    if spec == "balanced":
        if train_target is None:  # rebuilt from a checkpoint: its state dict holds the weights it was trained with
            return torch.ones(classes)
        counts = torch.bincount(train_target.long().flatten(), minlength=classes).to(torch.float32)
        if bool((counts == 0).any()):
            missing = [c for c in range(classes) if counts[c] == 0]
            allowed = f"none: classes {missing} are not in the train split"
            raise LeversConfigError(f"loss.{CLASS_WEIGHTS_KEY}", spec, allowed)
        return len(train_target) / (classes * counts)
    if not isinstance(spec, Sequence) or isinstance(spec, str) or len(spec) != classes:
        raise LeversConfigError(
            f"loss.{CLASS_WEIGHTS_KEY}", spec, f"none, balanced, or a list of {classes} weights (one per class)"
        )
    return torch.tensor([float(w) for w in spec], dtype=torch.float32)
