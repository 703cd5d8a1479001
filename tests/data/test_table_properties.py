"""Property: over random small CSV files (text, gaps, NaN, huge numbers, duplicate or empty headers, constant
columns, bytes that are not UTF-8), preparing `data=table` either gives finite tensors or raises LeversConfigError,
never another exception: a new traceback shows up here, not at a user's desk."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from levers.config.settings import data_settings
from levers.data.prepared import prepare
from levers.errors import LeversConfigError

CELLS = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.6g}"),
    st.sampled_from(["", "nan", "NA", "inf", "-inf", "1e308", "-3.5e39", "True", "false", "2024-01-31"]),
    st.sampled_from(["red", "green", "blue", "a b", '"x,y"', "é"]),
)
NAMES = st.sampled_from(["a", "b", "c", "d", ""])


@st.composite
def csv_files(draw) -> bytes:
    """A header (maybe with a repeated or empty name) and 0-30 rows of random cells, one column kind each."""
    names = [*draw(st.lists(NAMES, min_size=1, max_size=4, unique=True)), "y"]
    if draw(st.integers(0, 9)) == 0:  # now and then a repeated name
        names.append(names[0])
    rows = draw(st.sampled_from([0, 1, 5]) | st.integers(12, 40))
    columns = []
    for _ in names:
        kind = draw(st.sampled_from(["mixed", "int", "float", "text", "constant"]))
        cell = {
            "mixed": CELLS,
            "int": st.integers(0, 3).map(str),
            "float": st.floats(-100, 100, allow_nan=False).map(lambda x: f"{x:.4g}"),
            "text": st.sampled_from(["u", "v", "w", ""]),
            "constant": st.just("7"),
        }[kind]
        columns.append(draw(st.lists(cell, min_size=rows, max_size=rows)))
    lines = [",".join(names)] + [",".join(column[i] for column in columns) for i in range(rows)]
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
    return ("\n".join(lines) + "\n").encode(encoding)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=csv_files(),
    impute=st.sampled_from(["error", "drop", "median", "mean"]),
    task=st.sampled_from(["auto", "auto", "regression", "multiclass", "binary"]),
    scaling=st.sampled_from(["standard", "robust", "minmax"]),
)
def test_any_small_csv_prepares_finite_tensors_or_is_rejected_by_key(
    make_cfg, tmp_path_factory, content, impute, task, scaling
):
    path = tmp_path_factory.mktemp("csv") / "table.csv"
    path.write_bytes(content)
    cfg = make_cfg("data=table", f"data.path={path}", "data.target=y", f"data.impute={impute}", f"data.task={task}")
    try:
        prepared = prepare(data_settings(cfg.data), scaling, cfg.seed)
    except LeversConfigError as error:
        assert error.key.startswith(("data.", "column ")) and str(error).startswith(error.key)
        assert "\n" not in str(error)
        return
    for x, y in prepared.tensors.values():
        assert np.isfinite(x.numpy()).all() and len(x) == len(y)
        if y.is_floating_point():
            assert np.isfinite(y.numpy()).all()
