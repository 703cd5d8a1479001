"""A real 2x2 grid multirun, in-process: job directories, the leaderboard, the HTML, and a failing combination."""

from __future__ import annotations

import csv
import json
import re

import pytest

from levers.sweeps.report import build_report
from tests.sweeps.conftest import run_multirun


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    sweep = tmp_path_factory.mktemp("grid")
    with pytest.MonkeyPatch.context() as monkeypatch:
        code = run_multirun(monkeypatch, sweep, "optimizer=adam,sgd", "model.depth=1,2")
    return code, sweep


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    """loss=mse cannot train a classifier: that combination fails before training; the other one completes."""
    sweep = tmp_path_factory.mktemp("failing")
    with pytest.MonkeyPatch.context() as monkeypatch:
        code = run_multirun(monkeypatch, sweep, "loss=mse,cross_entropy")
    return code, sweep


def test_grid_runs_exactly_four_jobs_each_in_its_own_directory(grid):
    code, sweep = grid
    assert code == 0
    jobs = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert jobs == ["0", "1", "2", "3"]
    statuses = {json.loads((sweep / job / "summary.json").read_text())["status"] for job in jobs}
    assert statuses == {"completed"}


def test_grid_leaderboard_has_four_rows_sorted_by_val_loss(grid):
    _, sweep = grid
    rows = list(csv.DictReader((sweep / "leaderboard.csv").open()))
    values = [float(row["val/loss"]) for row in rows]
    assert len(rows) == 4 and values == sorted(values)
    best = json.loads((sweep / rows[0]["job"] / "summary.json").read_text())
    assert best["best_value"] == pytest.approx(values[0], rel=1e-5)
    assert {(row["optimizer"], row["model.depth"]) for row in rows} == {
        (opt, depth) for opt in ("adam", "sgd") for depth in ("1", "2")
    }


def test_grid_html_report_overlays_four_series(grid):
    _, sweep = grid
    page = (sweep / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 5  # curves, final, params, parallel, importance
    series = _series(sweep, "curves")
    assert sorted(re.findall(r"curve-(\d)-val_loss", series)) == sorted(re.findall(r"curve-(\d)-val_acc", series))
    assert sorted(re.findall(r"curve-(\d)-val_loss", series)) == ["0", "1", "2", "3"]
    assert all((sweep / name).stat().st_size > 0 for name in ("curves.png", "final.png", "params.png"))


def _series(sweep, chart: str) -> str:
    """What the chart drew, by rebuilding the report from the sweep's files (as `levers report` does)."""
    return " ".join(next(c for c in build_report(sweep).charts if c.name == chart).series)


def test_failing_job_is_marked_failed_while_the_other_completes(failing):
    code, sweep = failing
    assert code == 1  # the sweep says some job failed ...
    first, second = (json.loads((sweep / job / "summary.json").read_text()) for job in ("0", "1"))
    assert first["status"] == "failed" and first["overrides"][-1] == "loss=mse"
    assert first["error"].startswith("LeversConfigError: loss='mse' is not allowed")
    assert second["status"] == "completed" and second["test"]["test/acc"] > 0.3  # ... and went on
    rows = list(csv.DictReader((sweep / "leaderboard.csv").open()))
    assert [(row["loss"], row["status"]) for row in rows] == [("cross_entropy", "completed"), ("mse", "failed")]


def test_kfold_composes_with_a_sweep_each_point_scored_by_its_fold_mean(tmp_path, monkeypatch):
    code = run_multirun(monkeypatch, tmp_path, "data.folds=2", "model.depth=1,2")
    assert code == 0
    rows = {row["job"]: row for row in csv.DictReader((tmp_path / "leaderboard.csv").open())}
    assert sorted(rows) == ["0", "1"]
    for job, row in rows.items():
        summary = json.loads((tmp_path / job / "summary.json").read_text())
        assert len(summary["folds"]) == 2 and (tmp_path / job / "fold_1" / "metrics.csv").exists()
        assert float(row["val/loss"]) == pytest.approx(summary["cv"]["mean"], rel=1e-5)
        assert float(row["val/loss std"]) == pytest.approx(summary["cv"]["std"], rel=1e-5)
    page = (tmp_path / "report.html").read_text()
    assert 'id="config-table"' in page  # each job's folds: its mean +- std
    assert sorted(re.findall(r"curve-(\d)-val_loss", _series(tmp_path, "curves"))) == ["0", "1"]  # fold-mean curves
