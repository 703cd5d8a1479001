"""k-fold cross-validation end to end, in-process: k fold runs, their metrics, and the mean the run returns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from levers.errors import LeversRunFailed
from levers.run import train

KFOLD = ["data.folds=3", "data.limit=300", "trainer.max_epochs=2"]


@pytest.fixture(scope="module")
def kfold_run(tmp_path_factory):
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from tests.conftest import CONF, FAST
    from tests.sweeps.conftest import one_torch_thread

    out = tmp_path_factory.mktemp("kfold")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[*FAST, *KFOLD])
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
    with one_torch_thread():
        returned = train(cfg)
    return returned, json.loads((out / "summary.json").read_text()), out


def test_kfold_trains_each_fold_in_its_own_directory(kfold_run):
    _, summary, out = kfold_run
    assert summary["status"] == "completed"
    assert [fold["fold"] for fold in summary["folds"]] == [0, 1, 2]
    for fold in range(3):
        fold_summary = json.loads((out / f"fold_{fold}" / "summary.json").read_text())
        assert fold_summary["status"] == "completed" and (out / f"fold_{fold}" / "metrics.csv").exists()
        assert summary["folds"][fold]["best_value"] == fold_summary["best_value"]


def test_kfold_reports_three_fold_metrics_their_mean_and_std(kfold_run):
    returned, summary, _ = kfold_run
    values = [fold["best_value"] for fold in summary["folds"]]
    assert len(values) == 3 and len(set(values)) == 3  # three different validation parts
    assert summary["cv"]["values"] == values
    assert summary["cv"]["mean"] == pytest.approx(np.mean(values))
    assert summary["cv"]["std"] == pytest.approx(np.std(values))
    assert summary["best_value"] == returned == pytest.approx(np.mean(values))
    assert summary["test"]["test/acc"] == pytest.approx(np.mean([f["test"]["test/acc"] for f in summary["folds"]]))


def test_a_diverged_fold_marks_the_kfold_summary_diverged(make_cfg):
    cfg = make_cfg("data.folds=2", "optimizer=sgd", "optimizer.lr=1e6", "trainer.max_epochs=2")
    with pytest.raises(LeversRunFailed):
        train(cfg)
    assert json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())["status"] == "diverged"


def test_kfold_summary_lists_each_metric_per_fold_with_mean_and_std(kfold_run):
    _, summary, _ = kfold_run
    metrics = summary["fold_metrics"]
    assert list(metrics) == ["best val/loss", *sorted(summary["folds"][0]["test"])]
    assert {"test/acc", "test/loss"} <= set(metrics)
    for name, metric in metrics.items():
        expected = [f["best_value"] if name == "best val/loss" else f["test"][name] for f in summary["folds"]]
        assert metric["folds"] == expected
        assert metric["mean"] == pytest.approx(np.mean(expected)) and metric["std"] == pytest.approx(np.std(expected))


def test_kfold_shows_one_table_of_every_fold_and_the_mean_not_one_per_fold(make_cfg, capsys):
    cfg = make_cfg(
        "data.folds=2",
        "data.limit=200",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=true",
        "trainer.enable_model_summary=true",
    )
    train(cfg)
    shown = capsys.readouterr().out
    assert shown.count("cross-validation") == 1 and "2-fold cross-validation" in shown  # the one table
    assert "mean +- std" in shown and "best epoch" not in shown  # no single run's final table
    assert "parameters," not in shown  # no model summary per fold ("MLP: 85,002 parameters, 0.34 MB")
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    acc = summary["fold_metrics"]["test/acc"]
    assert f"{acc['mean']:.4g} +- {acc['std']:.4g}" in shown
    for value in acc["folds"]:
        assert f"{value:.4g}" in shown
