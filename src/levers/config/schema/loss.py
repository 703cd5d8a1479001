"""Schemas of the `loss` group: each option's name and arguments; its `_target_` is written in its YAML."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING

from levers.config.schema.checks import Check, at_least, checked


def _class_weights(value: Any) -> bool:
    if value is None or value in ("none", "balanced"):
        return True
    return isinstance(value, Sequence) and not isinstance(value, str) and all(_positive(w) for w in value)


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


CLASS_WEIGHTS = Check(_class_weights, "none, balanced, or a list of positive weights, one per class ([w0, w1, ...])")
ALPHA = Check(lambda v: v is None or 0 <= v <= 1, "null or 0..1 (the positive class's weight, binary only)")


@dataclass
class AutoLossConfig:
    name: str = "auto"
    # none | balanced (n_samples / (n_classes * count_c), counted on the train split) | [w0, w1, ...]
    class_weights: Any = checked("none", CLASS_WEIGHTS)  # noqa: RUF009 (a Field, as dataclasses.field returns)


@dataclass
class CrossEntropyConfig:
    name: str = "cross_entropy"
    _target_: str = MISSING
    label_smoothing: float = 0.0  # 0 (hard targets) .. 1
    # none | balanced (n_samples / (n_classes * count_c), counted on the train split) | [w0, w1, ...]
    class_weights: Any = checked("none", CLASS_WEIGHTS)  # noqa: RUF009 (a Field, as dataclasses.field returns)


@dataclass
class BCEConfig:
    name: str = "bce"
    _target_: str = MISSING
    # none | balanced | [w0, w1]: the positive class's rows weigh w1/w0 (torch's pos_weight; n_neg/n_pos if balanced)
    class_weights: Any = checked("none", CLASS_WEIGHTS)  # noqa: RUF009 (a Field, as dataclasses.field returns)


@dataclass
class FocalConfig:
    name: str = "focal"
    _target_: str = MISSING
    gamma: float = checked(2.0, at_least(0))  # focusing: (1 - p_t)^gamma; 0 is cross-entropy
    alpha: float | None = checked(None, ALPHA)  # binary: the positive class's weight, 1 - alpha the negative's
    # none | balanced (n_samples / (n_classes * count_c), counted on the train split) | [w0, w1, ...]
    class_weights: Any = checked("none", CLASS_WEIGHTS)  # noqa: RUF009 (a Field, as dataclasses.field returns)


@dataclass
class MSEConfig:
    name: str = "mse"
    _target_: str = MISSING


@dataclass
class MAEConfig:
    name: str = "mae"
    _target_: str = MISSING


@dataclass
class HuberConfig:
    name: str = "huber"
    _target_: str = MISSING
    delta: float = 1.0  # quadratic below delta, linear beyond


OPTIONS: dict[str, dict[str, Any]] = {
    "loss": {
        "auto": AutoLossConfig,
        "cross_entropy": CrossEntropyConfig,
        "bce": BCEConfig,
        "focal": FocalConfig,
        "mse": MSEConfig,
        "mae": MAEConfig,
        "huber": HuberConfig,
    }
}
