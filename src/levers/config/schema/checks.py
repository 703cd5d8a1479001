"""Range rules of schema fields: a field carries its own check, so a lever's type, default and allowed values are
written in one place (the dataclass), and `levers.config.validate` applies whatever the schema says.

``depth: int = checked(2, int_in(0, 64, "0..64 hidden layers"))`` stores the check in the field's metadata under
:data:`CHECK`; a subclass that overrides such a field's default must pass the check again (dataclasses replace
the whole field), which tests/config/test_single_source.py verifies.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CHECK = "check"  # the metadata key validate.py reads


@dataclass(frozen=True)
class Check:
    """`accepts(value)` says whether a value is allowed; `allowed` is the text the one-line error shows."""

    accepts: Callable[[Any], bool]
    allowed: str


class ChoiceOf:
    """One of the names in a tuple defined by the code that uses them (`levers.models.activations.ACTIVATIONS`),
    imported on first use: the schema is read at start-up, and those modules import torch."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    @functools.cached_property
    def _check(self) -> Check:
        return one_of(*getattr(importlib.import_module(self.module), self.name))

    def accepts(self, value: Any) -> bool:
        return self._check.accepts(value)

    @property
    def allowed(self) -> str:
        return self._check.allowed


def checked(default: Any, check: Check | ChoiceOf) -> Any:
    """A dataclass field with `default` (a list or dict is copied per instance) and its range rule."""
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata={CHECK: check})
    return field(default=default, metadata={CHECK: check})


def follows(key: str) -> Any:
    """The default of a field that takes another key's value (`model.dropout` follows `regularization.dropout`)."""
    return f"${{{key}}}"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def at_least(low: float, allowed: str | None = None, *, nullable: bool = False) -> Check:
    """>= low (or null, when `nullable`)."""
    return Check(lambda v: (nullable and v is None) or v >= low, allowed or f">= {low}")


def above(low: float, allowed: str | None = None, *, nullable: bool = False) -> Check:
    """> low (or null, when `nullable`)."""
    return Check(lambda v: (nullable and v is None) or v > low, allowed or f"> {low}")


def int_in(low: int, high: int, allowed: str | None = None) -> Check:
    """An integer (not a bool, which is an int to Python) in [low, high]."""
    return Check(lambda v: type(v) is int and low <= v <= high, allowed or f"{low}..{high}")


def one_of(*choices: str) -> Check:
    return Check(lambda v: v in choices, f"one of {', '.join(choices)}")


FRACTION = Check(lambda v: 0 <= v < 1, "in [0, 1)")
NON_NEGATIVE = at_least(0)
POSITIVE = above(0)
AT_LEAST_ONE = at_least(1)
LR = Check(lambda v: v == "auto" or (_number(v) and v > 0), "> 0, or auto (an LR range test picks it)")
MONITOR_MODE = one_of("min", "max")
INTERVAL = one_of("epoch", "step")
ACTIVATION = ChoiceOf("levers.models.activations", "ACTIVATIONS")
INIT = ChoiceOf("levers.models.init", "INIT_SCHEMES")
INIT_DISTRIBUTION = ChoiceOf("levers.models.init", "DISTRIBUTIONS")
SHAPE = ChoiceOf("levers.models.mlp", "SHAPES")
SCALING_METHOD = ChoiceOf("levers.data.scaling", "SCALING_METHODS")

# Bounds that reject nonsense (model.depth=1000000 would build a million layers before failing) yet allow every
# real use: a plain MLP stops training well before 64 layers, and a 65536-wide layer already holds 4e9 weights.
MAX_SEED = 2**32 - 1  # numpy's seed range, which pl.seed_everything passes the seed to
MAX_DEPTH, MAX_WIDTH = 64, 65536
