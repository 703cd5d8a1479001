"""`levers.train(...)` from Python (levers.api): the command line's config and run, on a DataFrame or arrays."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

import levers
from levers.errors import LeversConfigError
from tests.conftest import ROOT

QUICK = ("trainer.max_epochs=2", "quiet=true")
PENGUINS = ROOT / "examples" / "penguins.csv"


def readme_python_api_example() -> str:
    section = (ROOT / "README.md").read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return code


def test_the_readme_example_runs_and_writes_its_runs_under_outputs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(readme_python_api_example(), "README.md", "exec"), {})
    (default_run,) = (tmp_path / "outputs" / "runs").iterdir()  # the DataFrame run, named as the command line's
    assert json.loads((default_run / "summary.json").read_text())["status"] == "completed"
    assert (tmp_path / "outputs" / "xy" / "summary.json").exists()  # the run_dir= it chose
    assert "predicted_target" in capsys.readouterr().out


def test_a_dataframe_trains_through_data_table_in_the_chosen_run_dir(tmp_path):
    frame = pd.read_csv(PENGUINS)
    overrides = (*QUICK, "model.depth=1", "data.impute=median")
    result = levers.train(*overrides, data=frame, target="species", run_dir=tmp_path / "run")
    run = tmp_path / "run"
    assert result.run_dir == run.resolve()
    summary = json.loads((run / "summary.json").read_text())
    assert result.metrics == summary["test"] and result.metrics["test/acc"] > 0.5
    assert result.best_checkpoint is not None and result.best_checkpoint.parent == run.resolve() / "checkpoints"
    saved = OmegaConf.load(run / ".hydra" / "config.yaml")
    assert saved.data.name == "table" and saved.data.target == "species" and saved.data.impute == "median"
    assert saved.model.depth == 1
    assert pd.read_parquet(saved.data.path).equals(frame)  # the table the run read is the caller's
    predictions = result.predict(frame.head(20))
    assert list(predictions.columns) == ["prediction", "prob_Adelie", "prob_Chinstrap", "prob_Gentoo"]
    assert set(predictions["prediction"]) <= {"Adelie", "Chinstrap", "Gentoo"}


def test_numpy_arrays_train_and_predict_from_arrays(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(300, 3))
    targets = np.stack([3 * features[:, 0], 100 + features[:, 1]], axis=1)  # two targets: y0, y1
    result = levers.train(*QUICK, data=(features, targets), run_dir=tmp_path)
    assert {"test/mae/y0", "test/mae/y1"} <= set(result.metrics)
    predictions = result.predict(features[:50])
    assert list(predictions.columns) == ["predicted_y0", "predicted_y1"]
    assert 90 < predictions["predicted_y1"].mean() < 110  # in y1's own units


def test_a_misspelt_override_raises_the_one_line_before_anything_is_written(tmp_path):
    with pytest.raises(LeversConfigError, match=r"^optimizer.lrr is not a key of optimizer; did you mean lr\?"):
        levers.train("optimizer.lrr=0.1", data=pd.read_csv(PENGUINS), target="species", run_dir=tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_a_dataframe_without_its_target_column_is_refused_naming_the_columns(tmp_path):
    with pytest.raises(LeversConfigError, match=r"^target=\['price'\] is not allowed: columns of the DataFrame"):
        levers.train(data=pd.read_csv(PENGUINS), target="price", run_dir=tmp_path)


def test_data_given_twice_is_refused(tmp_path):
    with pytest.raises(LeversConfigError, match="either the data= argument or a data=<option> override"):
        levers.train("data=wine", data=pd.read_csv(PENGUINS), target="species", run_dir=tmp_path)


def test_import_levers_stays_cheap_and_train_is_the_api_function():
    code = "import sys, levers; print(sorted(m for m in ('torch', 'hydra', 'pytorch_lightning') if m in sys.modules))"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"
    from levers.api import train

    assert levers.train is train


def test_a_kfold_run_returns_the_fold_mean_and_names_where_its_models_are(tmp_path):
    rng = np.random.default_rng(1)
    features = rng.normal(size=(200, 2))
    result = levers.train(*QUICK, "data.folds=2", data=(features, (features[:, 0] > 0).astype(int)), run_dir=tmp_path)
    assert result.best_value == pytest.approx(result.summary["cv"]["mean"])
    assert result.metrics["test/acc"] == pytest.approx(result.summary["fold_metrics"]["test/acc"]["mean"])
    with pytest.raises(LeversConfigError, match="one per fold in .*fold_<i>/checkpoints"):
        result.predict(features)
