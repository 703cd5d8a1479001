"""Property: over arbitrary config values, the pipeline either trains with finite losses or rejects the input
with LeversConfigError naming the key, never a traceback from inside torch; and over random override sets drawn
from the real option names (valid and invalid values, unknown options and keys), composition and validation end
in a config error of one line (Hydra's names the override on its first) or pass, never another exception."""

from __future__ import annotations

import functools
import math
from typing import Any

import pandas as pd
from hydra.errors import HydraException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, ListConfig, OmegaConf

from levers.config.schema import all_options
from levers.config.schema.top import TrainConfig
from levers.config.validate import validate_config
from levers.errors import LeversConfigError
from levers.run import train
from tests.conftest import group_options

GROUPS = ("data", "scaling", "model", "loss", "optimizer", "scheduler", "regularization", "trainer", "callbacks",
          "logger", "experiment", "hparams_search")  # fmt: skip

VALUES = {
    "optimizer.lr": st.one_of(st.sampled_from([-1.0, 0.0]), st.floats(1e-5, 1.0)),
    "regularization.dropout": st.floats(-0.5, 1.5),
    "model.depth": st.integers(-2, 4),
    "model.width": st.integers(-1, 64),
    "data.batch_size": st.integers(-1, 400),
    "model.activation": st.sampled_from(["relu", "elu", "selu", "tanh", "sigmoid", "swish"]),
    "scaling.method": st.sampled_from(["standard", "minmax", "robust", "decimal", "none", "zscore"]),
    "data.val_fraction": st.floats(0.0, 0.95),
    "seed": st.one_of(st.integers(0, 3), st.sampled_from([-1, 2**32])),
}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.fixed_dictionaries(VALUES), data=st.sampled_from(["digits", "breast_cancer", "diabetes"]))
def test_any_config_trains_with_finite_loss_or_is_rejected_by_key(make_cfg, values, data):
    overrides = [f"{key}={value}" for key, value in values.items()]
    cfg = make_cfg(f"data={data}", "data.limit=300", "trainer.fast_dev_run=true", *overrides)
    try:
        best = train(cfg)
    except LeversConfigError as error:
        top_level = {"optimizer", "regularization", "model", "data", "scaling", "seed"}
        assert error.key.split(" ")[0].split(".")[0] in top_level
        assert str(error).startswith(error.key)
        return
    assert math.isfinite(best)


@st.composite
def small_tables(draw) -> pd.DataFrame:
    """20-60 rows: numeric columns that may hold NaN or inf, maybe a text column, an int or float target."""
    rows = draw(st.integers(20, 60))
    cell = st.one_of(st.floats(-1e6, 1e6), st.sampled_from([float("nan"), float("inf")]))
    table = {f"x{i}": draw(st.lists(cell, min_size=rows, max_size=rows)) for i in range(draw(st.integers(1, 3)))}
    if draw(st.booleans()):
        table["colour"] = draw(st.lists(st.sampled_from(["red", "green", "blue"]), min_size=rows, max_size=rows))
    if draw(st.booleans()):
        table["y"] = draw(st.lists(st.integers(0, draw(st.integers(0, 2))), min_size=rows, max_size=rows))
    else:
        table["y"] = draw(st.lists(st.floats(-100, 100), min_size=rows, max_size=rows))
    return pd.DataFrame(table)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=small_tables(), impute=st.sampled_from(["error", "drop", "median", "mean"]))
def test_any_small_csv_trains_with_finite_loss_or_is_rejected_by_key(make_cfg, tmp_path_factory, table, impute):
    path = tmp_path_factory.mktemp("csv") / "table.csv"
    table.to_csv(path, index=False)
    cfg = make_cfg("data=table", f"data.path={path}", "data.target=y", f"data.impute={impute}", "data.batch_size=4",
                   "trainer.fast_dev_run=true")  # fmt: skip
    try:
        best = train(cfg)
    except LeversConfigError as error:
        assert error.key.startswith(("data.", "column ")) and str(error).startswith(error.key)
        return
    assert math.isfinite(best)


@functools.cache
def option_keys() -> dict[str, Any]:
    """Every leaf key of every option's schema (the union: a key of model=cnn drawn with model=mlp is an unknown
    key there), with its default value, which tells the strategies below its type. From the dataclasses, not by
    composing each option: milliseconds, not seconds."""
    keys: dict[str, Any] = {}
    for group, schemas in all_options().items():
        for schema in schemas.values():
            keys |= {key: value for key, value in _leaves(OmegaConf.structured(schema), group)}
    top = OmegaConf.structured(TrainConfig)
    return keys | {key: top[key] for key in ("seed", "mode", "monitor", "monitor_mode", "steps_per_call", "quiet")}


def _leaves(node: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(node, DictConfig):
        if node._is_none() or node._is_missing():
            return [(path, None)]
        return [leaf for key in node for leaf in _leaves(node._get_node(key), f"{path}.{key}") if "._" not in leaf[0]]
    if isinstance(node, ListConfig):
        return [(path, OmegaConf.to_container(node))]
    return [(path, node._value())]


WRONG_TYPES = ["abc", "[1,2]", "{a:1}", "null", "true", "1.5", "nan", "inf", "-inf", "''"]
NUMBERS = st.one_of(st.integers(-3, 10), st.sampled_from([0, -1, 10**7, 2**40, -(2**40)]),
                    st.floats(-2, 2).map(lambda f: round(f, 3)), st.sampled_from([1e-12, 1e10, -1e-3]))  # fmt: skip


def hydra_value(value: Any) -> str:
    """A Python value as Hydra's override grammar writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, str) and value and not value.replace("_", "").replace("-", "").replace(".", "").isalnum():
        return f"'{value}'"  # an interpolation or a path: quoted, Hydra keeps it as written
    return str(value) if value != "" else "''"


@st.composite
def override(draw) -> str:
    """One override: a group option (real or misspelt), a key set to its default, a neighbouring or absurd number,
    a value of the wrong type, an unknown key, `+` of an unknown key, or `~` deleting one."""
    keys = option_keys()
    kind = draw(st.sampled_from(["group", "default", "number", "wrong_type", "unknown_key", "append", "delete"]))
    if kind == "group":
        group = draw(st.sampled_from(GROUPS))
        return f"{group}={draw(st.sampled_from([*group_options(group), 'adamm', 'none_such']))}"
    key = draw(st.sampled_from(sorted(keys)))
    if kind == "default":
        return f"{key}={hydra_value(keys[key])}"
    if kind == "number":
        return f"{key}={hydra_value(draw(NUMBERS))}"
    if kind == "wrong_type":
        return f"{key}={draw(st.sampled_from(WRONG_TYPES))}"
    if kind == "unknown_key":
        return f"{key}x=1"
    if kind == "append":
        return f"+{key}x={hydra_value(draw(NUMBERS))}"
    return f"~{key}"


def _top(name: str) -> str:
    return name.lstrip("+~").split("=")[0].split(".")[0].split("/")[0]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(overrides=st.lists(override(), min_size=1, max_size=5))
def test_any_override_set_passes_validation_or_fails_with_one_config_error_line(make_cfg, overrides):
    drawn = {_top(item) for item in overrides}
    try:
        validate_config(make_cfg(*overrides))
    except LeversConfigError as error:
        assert "\n" not in str(error) and str(error).startswith(error.key)
        assert _top(error.key) in drawn | {"data"}  # data: a split sum; an experiment or a data option sets data.*
    except HydraException as error:
        first_line = str(error).splitlines()[0]
        assert any(_top(item) in first_line for item in overrides), first_line
