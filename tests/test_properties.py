"""Property: over arbitrary config values, the pipeline either trains with finite losses or rejects the input
with LeversConfigError naming the key, never a traceback from inside torch."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from levers.errors import LeversConfigError
from levers.run import train

VALUES = {
    "optimizer.lr": st.one_of(st.sampled_from([-1.0, 0.0]), st.floats(1e-5, 1.0)),
    "regularization.dropout": st.floats(-0.5, 1.5),
    "model.depth": st.integers(-2, 4),
    "model.width": st.integers(-1, 64),
    "data.batch_size": st.integers(-1, 400),
    "model.activation": st.sampled_from(["relu", "elu", "selu", "tanh", "sigmoid", "swish"]),
    "scaling.method": st.sampled_from(["standard", "minmax", "robust", "decimal", "none", "zscore"]),
    "data.val_fraction": st.floats(0.0, 0.95),
}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.fixed_dictionaries(VALUES), data=st.sampled_from(["digits", "breast_cancer", "diabetes"]))
def test_any_config_trains_with_finite_loss_or_is_rejected_by_key(make_cfg, values, data):
    overrides = [f"{key}={value}" for key, value in values.items()]
    cfg = make_cfg(f"data={data}", "data.limit=300", "trainer.fast_dev_run=true", *overrides)
    try:
        best = train(cfg)
    except LeversConfigError as error:
        assert error.key.split(" ")[0].split(".")[0] in {"optimizer", "regularization", "model", "data", "scaling"}
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
