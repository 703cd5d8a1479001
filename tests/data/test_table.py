"""Reading your own table: column selection, missing values and the errors a user sees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from levers.config.settings import data_settings
from levers.data.encoding import TableEncoder
from levers.data.table import load_table
from levers.errors import LeversConfigError


@pytest.fixture
def csv(tmp_path):
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "size": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
            "colour": ["red", "blue", "red", None, "blue", "red"],
            "price": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
            "tax": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    path = tmp_path / "houses.csv"
    frame.to_csv(path, index=False)
    return path


def test_missing_file_names_data_path(tmp_path):
    with pytest.raises(LeversConfigError, match=r"data.path=.*nope.csv.*an existing file"):
        load_table(str(tmp_path / "nope.csv"), "price")


def test_missing_target_column_lists_the_columns(csv):
    with pytest.raises(LeversConfigError, match=r"data.target='cost'.*columns of the file: id, size, colour, price"):
        load_table(str(csv), "cost")


def test_missing_values_with_impute_error_name_the_columns(csv):
    with pytest.raises(LeversConfigError, match=r"data.impute='error'.*\{'size': 1, 'colour': 1\}"):
        load_table(str(csv), "price")


def test_text_column_without_encoding_is_named(csv):
    with pytest.raises(LeversConfigError, match=r"data.encoding='error'.*\['colour'\] are not numeric"):
        load_table(str(csv), "price", impute="drop", encoding="error")


def test_impute_drop_removes_incomplete_rows(csv):
    table = load_table(str(csv), "price", impute="drop")
    assert table.target.tolist() == [10.0, 20.0, 50.0, 60.0]


def test_features_and_drop_select_the_input_columns(csv):
    assert list(load_table(str(csv), "price", drop=["id", "tax"], impute="mean").features.columns) == ["size", "colour"]
    assert list(load_table(str(csv), "price", features=["tax", "id"]).features.columns) == ["tax", "id"]


def test_a_list_of_targets_gives_a_float_matrix(csv):
    table = load_table(str(csv), ["price", "tax"], drop=["id"], impute="median")
    assert table.target.shape == (6, 2) and table.target.dtype == np.float32
    assert "tax" not in table.features.columns


def test_parquet_reads_like_csv(csv, tmp_path):
    pd.read_csv(csv).to_parquet(tmp_path / "houses.parquet")
    from_parquet = load_table(str(tmp_path / "houses.parquet"), "price", impute="drop")
    from_csv = load_table(str(csv), "price", impute="drop")
    assert from_parquet.features.columns == from_csv.features.columns
    encoded = [TableEncoder.fit(t.features, "drop").transform(t.features) for t in (from_parquet, from_csv)]
    np.testing.assert_array_equal(*encoded)
    np.testing.assert_array_equal(from_parquet.target, from_csv.target)


def test_a_bad_table_fails_the_run_with_our_error_not_hydras_wrapper(make_cfg, tmp_path):
    from levers.run import train

    cfg = make_cfg("data=table", f"data.path={tmp_path / 'absent.csv'}", "data.target=y")
    with pytest.raises(LeversConfigError, match=r"data.path=.*absent.csv"):
        train(cfg)


def test_shipped_wage_example_is_a_regression_on_text_and_numeric_columns(make_cfg):
    from levers.data.datamodule import TabularDataModule

    cfg = make_cfg("data=wage")
    data = TabularDataModule(data_settings(cfg.data), cfg.scaling.method, cfg.seed)
    assert data.task.kind == "regression" and sum(data.split_size(s) for s in ("train", "val", "test")) == 3000
    assert "logwage" not in data.encoder.columns and "maritl=2. Married" in data.encoder.output_names
    assert data.num_features == len(data.encoder.output_names) == 23  # 2 numeric + 21 one-hot


def test_a_text_target_is_classification_and_refuses_regression():
    from levers.data.task import infer_task

    labels = np.array(["yes", "no", "no", "yes", "maybe"])
    assert infer_task(labels).kind == "multiclass" and infer_task(labels).num_classes == 3
    with pytest.raises(LeversConfigError, match=r"data.task='regression'.*the target is text"):
        infer_task(labels, "regression")


def _prepare(make_cfg, path, *overrides):
    from levers.data.prepared import prepare

    cfg = make_cfg("data=table", f"data.path={path}", *overrides)
    return prepare(data_settings(cfg.data), cfg.scaling.method, cfg.seed)


def test_split_tensors_are_views_of_one_matrix_holding_each_row_once(make_cfg, tmp_path):
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300), "y": rng.integers(0, 2, 300)}).to_csv(
        tmp_path / "t.csv", index=False
    )
    prepared = _prepare(make_cfg, tmp_path / "t.csv", "data.target=y")
    xs = [prepared.tensors[name][0] for name in ("train", "val", "test")]
    assert len({x.untyped_storage().data_ptr() for x in xs}) == 1
    assert xs[0].untyped_storage().nbytes() == sum(x.nbytes for x in xs) == 300 * 2 * 4


def test_a_column_that_turns_to_text_after_the_first_block_is_read_as_text(make_cfg, tmp_path):
    rows = 120_000  # more than one streamed block: the first block's types no longer fit
    frame = pd.DataFrame({"code": np.arange(rows).astype(object), "x": np.arange(rows) % 7, "y": np.arange(rows) % 2})
    frame.loc[rows - 1, "code"] = "unknown"
    frame.to_csv(tmp_path / "t.csv", index=False)
    table = load_table(str(tmp_path / "t.csv"), "y", drop=[])
    assert not table.features.is_numeric("code") and table.features.is_numeric("x")
    assert table.features["code"].iloc[-1] == "unknown"


def test_dates_stay_text_as_pandas_reads_them(tmp_path):
    (tmp_path / "t.csv").write_text("day,x,y\n2024-01-01,1,0\n2024-01-02,2,1\n")
    table = load_table(str(tmp_path / "t.csv"), "y")
    assert table.features["day"].tolist() == ["2024-01-01", "2024-01-02"]


def test_streamed_float32_features_equal_pandas_values_cast_to_float32(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=50) * 1e5, "n": rng.integers(-(2**40), 2**40, 50), "y": [0, 1] * 25})
    frame.to_csv(tmp_path / "t.csv", index=False)
    table = load_table(str(tmp_path / "t.csv"), "y")
    expected = pd.read_csv(tmp_path / "t.csv")
    for name in ("x", "n"):
        np.testing.assert_array_equal(
            table.features[name].to_numpy(), expected[name].to_numpy(np.float64).astype(np.float32)
        )


def test_a_csv_with_bare_carriage_returns_reads_every_row(tmp_path):
    from levers.data.table import load_table

    path = tmp_path / "cr.csv"
    path.write_bytes(b"a,b,y\r1,2,3\r4,5,6\r7,8,9\r")
    table = load_table(str(path), target="y")
    assert len(table.target) == 3


def test_missing_indicators_without_imputation_are_refused_naming_both_keys(make_cfg, tmp_path):
    pd.DataFrame({"a": [1.0, None, 3.0, 4.0] * 10, "y": [0.0, 1.0, 2.0, 3.0] * 10}).to_csv(tmp_path / "t.csv")
    with pytest.raises(LeversConfigError, match=r"data.missing_indicators.*data.impute=median\|mean"):
        _prepare(make_cfg, tmp_path / "t.csv", "data.target=y", "data.impute=drop", "data.missing_indicators=true")
