"""What kind of problem the data poses: inferred from the target, never typed by the user (except reconstruction,
whose target is the features themselves and which only `data.task=reconstruction` asks for)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from levers.errors import LeversConfigError

TASK_KINDS = ("multiclass", "binary", "regression")
RECONSTRUCTION = "reconstruction"  # an autoencoder's: the target is the scaled features (levers.data.prepared)
CLASSIFICATION_KINDS = ("multiclass", "binary")
MAX_CLASSES = 1000


@dataclass(frozen=True)
class TaskSpec:
    kind: str  # multiclass | binary | regression | reconstruction
    num_classes: int = 0  # classification only
    num_targets: int = 1  # regression only; reconstruction: one per (encoded) feature

    @property
    def is_classification(self) -> bool:
        return self.kind in CLASSIFICATION_KINDS

    @property
    def is_reconstruction(self) -> bool:
        return self.kind == RECONSTRUCTION


def reconstruction_task(num_features: int) -> TaskSpec:
    """The target is the input: one output per feature, any label column unused. Sized from the encoded features,
    which only exist after the split (one-hot columns are fitted on train)."""
    return TaskSpec(RECONSTRUCTION, num_targets=num_features)


def infer_task(target: np.ndarray, requested: str = "auto") -> TaskSpec:
    """Integer-valued targets with few distinct values are classes; anything else is regression."""
    if requested not in ("auto", *TASK_KINDS):
        allowed = f"one of auto, {', '.join(TASK_KINDS)}, {RECONSTRUCTION} (the last with model=autoencoder)"
        raise LeversConfigError("data.task", requested, allowed)
    if requested == "regression" and target.dtype.kind in "OUS":
        raise LeversConfigError("data.task", requested, "binary or multiclass (or auto): the target is text")
    if requested == "regression" or (requested == "auto" and not _looks_like_classes(target)):
        return TaskSpec("regression", num_targets=1 if target.ndim == 1 else target.shape[1])
    if requested in ("binary", "multiclass"):
        _require_labels(target, requested)
    labels = np.unique(target)
    num_classes = len(labels)
    if num_classes < 2:
        shown = f"the single class {labels[0].item()!r}" if num_classes else "no rows"
        raise LeversConfigError("data.target", shown, "at least 2 classes")
    kind = "binary" if num_classes == 2 else "multiclass"
    if requested in ("binary", "multiclass") and requested != kind:
        raise LeversConfigError("data.task", requested, f"the target has {num_classes} classes: use {kind}")
    return TaskSpec(kind, num_classes=num_classes)


def _looks_like_classes(target: np.ndarray) -> bool:
    if target.ndim != 1:
        return False
    if target.dtype.kind in "OUSb":  # text or boolean labels
        return True
    if target.dtype.kind in "iub":
        return len(np.unique(target)) <= MAX_CLASSES
    return bool(np.all(np.mod(target, 1) == 0)) and len(np.unique(target)) <= 20


def _require_labels(target: np.ndarray, requested: str) -> None:
    """Classes asked for by name must be labels: text, booleans or whole numbers, and at most MAX_CLASSES."""
    if target.ndim != 1:
        raise LeversConfigError("data.task", requested, "regression (or auto): several target columns are given")
    if target.dtype.kind == "f":
        fractional = target[np.mod(target, 1) != 0]
        if len(fractional):
            raise LeversConfigError(
                "data.task",
                requested,
                f"regression (or auto): the target holds non-integer numbers such as {fractional[0].item()!r}",
            )
    count = len(np.unique(target))
    if count > MAX_CLASSES:
        raise LeversConfigError("data.task", requested, f"a target with at most {MAX_CLASSES} classes (it has {count})")
