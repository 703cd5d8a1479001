"""Defective data fails before training with one line naming the input and what is allowed."""

from __future__ import annotations

import pytest

from levers.config.settings import data_settings
from levers.errors import LeversConfigError
from levers.run import train


@pytest.mark.parametrize(
    ("source", "key", "allowed"),
    [
        ("nan_in_features", "data.features", "finite numbers"),
        ("inf_in_features", "data.features", "finite numbers"),
        ("nan_in_target", "data.target", "finite numbers"),
        ("text_features", "data.features", "numeric columns"),
        ("not_a_pair", "data.source", "returning (features, target)"),
    ],
)
def test_defective_source_is_rejected_naming_the_input(make_cfg, source, key, allowed):
    with pytest.raises(LeversConfigError) as error:
        train(make_cfg("data=wine", f"data.source._target_=tests.bad_sources.{source}"))
    assert error.value.key == key and allowed in str(error.value)


# --- your own table (data=table): each bad file ends in one LeversConfigError naming the key, file or column ---

LATIN1 = "a,colour,y\n" + "".join(f"{i},{'café' if i % 2 else 'thé'},{i % 2}\n" for i in range(40))
TABLES = {
    "empty.csv": "",
    "header_only.csv": "a,b,y\n",
    "latin1.csv": LATIN1.encode("latin-1"),
    "csv_named.parquet": "a,y\n1,0\n2,1\n",
    "duplicate_names.csv": "a,a,y\n" + "".join(f"{i},{2 * i},{i % 2}\n" for i in range(40)),
    "constant_target.csv": "a,b,y\n" + "".join(f"{i},{3 * i},2.5\n" for i in range(40)),
    "huge_value.csv": "a,b,y\n" + "".join(f"{i},{'1e308' if i == 7 else i},{i % 2}\n" for i in range(40)),
    "empty_column.csv": "a,b,y\n" + "".join(f"{i},,{i % 2}\n" for i in range(40)),
    "float_target.csv": "a,y\n" + "".join(f"{i},{(i * 0.37) % 1:.4f}\n" for i in range(300)),
}


@pytest.mark.parametrize(
    ("file", "overrides", "key", "allowed"),
    [
        ("empty.csv", [], "data.path", "empty.csv' is not allowed: a CSV with a header row and data rows"),
        ("header_only.csv", [], "data.path", "at least one data row (this file has only a header)"),
        ("latin1.csv", [], "data.file_encoding", "latin1.csv, which is not valid utf-8: set it, e.g. data.file_enc"),
        ("latin1.csv", ["data.file_encoding=klingon"], "data.file_encoding", "a Python codec name"),
        ("csv_named.parquet", [], "data.path", "a Parquet file (this one is not: "),
        ("duplicate_names.csv", [], "data.path", "a header with unique column names (it has 'a' 2 times)"),
        ("constant_target.csv", [], "data.target", "a target that varies (every row holds 2.5"),
        ("huge_value.csv", [], "data.features", "column 'b' of "),
        ("empty_column.csv", ["data.impute=median"], "data.impute", "'b' of "),
        ("empty_column.csv", ["data.impute=drop"], "data.impute", "rows to keep: every row of "),
        ("float_target.csv", ["data.task=multiclass"], "data.task", "regression (or auto): the target holds non-int"),
    ],
)
def test_bad_table_is_rejected_with_one_line_naming_the_key(make_cfg, tmp_path, file, overrides, key, allowed):
    path = tmp_path / file
    content = TABLES[file]
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(LeversConfigError) as error:
        train(make_cfg("data=table", f"data.path={path}", "data.target=y", *overrides))
    message = str(error.value)
    assert error.value.key == key and allowed in message and "\n" not in message
    assert "huge_value" not in file or "1e+308" in message


def test_latin1_table_trains_once_its_encoding_is_given(make_cfg, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(LATIN1.encode("latin-1"))
    cfg = make_cfg("data=table", f"data.path={path}", "data.target=y", "data.file_encoding=latin-1")
    from levers.data.prepared import prepare

    prepared = prepare(data_settings(cfg.data), "standard", 0)
    assert prepared.encoder.categories["colour"] == ["café", "thé"]


def test_table_without_data_target_names_the_key(make_cfg, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(TABLES["duplicate_names.csv"].replace("a,a,y", "a,b,y"))
    with pytest.raises(LeversConfigError, match=r"data.target='\?\?\?' is not allowed: a value: .*data.target=COLUMN"):
        train(make_cfg("data=table", f"data.path={path}"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["data.path=t.csv"], "config error: data.target='???' is not allowed"),
        (["data.path=latin1.csv", "data.target=y"], "config error: data.file_encoding='utf-8' is not allowed"),
    ],
)
def test_bad_table_on_the_command_line_exits_with_one_error_line_and_no_traceback(tmp_path, args, line):
    import subprocess
    import sys

    from tests.conftest import ROOT

    (tmp_path / "t.csv").write_text("a,y\n1,0\n2,1\n")
    (tmp_path / "latin1.csv").write_bytes(LATIN1.encode("latin-1"))
    done = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "data=table", *args], cwd=tmp_path, capture_output=True, text=True
    )
    errors = [text for text in (done.stdout + done.stderr).splitlines() if "ERROR" in text or "rror:" in text]
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(errors) == 1 and line in errors[0], errors
