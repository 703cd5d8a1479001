"""The report from a sweep directory's files: leaderboard order and columns, CSV/Markdown, the HTML page, PNGs."""

from __future__ import annotations

import base64
import csv
import json
import re
from pathlib import Path

import matplotlib.image
import pytest

from levers.sweeps.jobs import load_jobs
from levers.sweeps.leaderboard import rank_jobs, to_markdown
from levers.sweeps.report import build_report, main


def make_job(root: Path, name: str, overrides: list[str], value: float | None, status: str = "completed",
             monitor: str = "val/loss", mode: str = "min", epochs: int = 3, **extra) -> Path:  # fmt: skip
    """A job directory as levers leaves it: summary.json and Lightning's metrics.csv (train and val rows apart)."""
    job = root / name
    (job / ".hydra").mkdir(parents=True)
    summary = {"status": status, "monitor": monitor, "monitor_mode": mode, "best_value": value, "best_epoch": 1,
               "overrides": overrides, "test": {"test/acc": 0.9} if value is not None else {}, **extra}  # fmt: skip
    (job / "summary.json").write_text(json.dumps(summary))
    if value is not None:
        rows = ["epoch,step,train/loss,val/acc,val/loss"]
        for epoch in range(epochs):
            rows += [f"{epoch},{epoch},{value + 1:.3f},,", f"{epoch},{epoch},,0.{epoch + 5},{value + 2 - epoch:.3f}"]
        (job / "metrics.csv").write_text("\n".join(rows) + "\n")
    return job


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """A 2x2 grid, one combination failed before training wrote anything but its summary."""
    make_job(tmp_path, "0", ["optimizer=adam", "model.depth=1"], 0.40)
    make_job(tmp_path, "1", ["optimizer=adam", "model.depth=2"], 0.25)
    make_job(tmp_path, "2", ["optimizer=sgd", "model.depth=1"], None, "failed", error="LeversConfigError: bad | mix")
    make_job(tmp_path, "3", ["optimizer=sgd", "model.depth=2"], 0.31)
    return tmp_path


def test_leaderboard_ranks_by_the_metric_in_its_mode_with_failed_jobs_last(sweep):
    board = rank_jobs(load_jobs(sweep))
    assert [job.name for job in board.jobs] == ["1", "3", "0", "2"]
    assert board.best.name == "1"


def test_leaderboard_ranks_descending_when_the_mode_is_max(tmp_path):
    for name, value in (("0", 0.8), ("1", 0.95), ("2", 0.9)):
        make_job(tmp_path, name, [f"seed={name}"], value, monitor="val/acc", mode="max")
    assert [job.name for job in rank_jobs(load_jobs(tmp_path)).jobs] == ["1", "2", "0"]


def test_leaderboard_has_one_column_per_override_and_the_error_of_failed_jobs(sweep):
    build_report(sweep)
    rows = list(csv.DictReader((sweep / "leaderboard.csv").open()))
    assert [(r["job"], r["optimizer"], r["model.depth"], r["status"]) for r in rows] == [
        ("1", "adam", "2", "completed"), ("3", "sgd", "2", "completed"),
        ("0", "adam", "1", "completed"), ("2", "sgd", "1", "failed"),
    ]  # fmt: skip
    assert [r["val/loss"] for r in rows] == ["0.25", "0.31", "0.4", ""]
    assert rows[-1]["error"] == "LeversConfigError: bad | mix"


def test_markdown_marks_failed_jobs_and_escapes_pipes(sweep):
    markdown = to_markdown(rank_jobs(load_jobs(sweep)))
    lines = markdown.splitlines()
    assert len(lines) == 2 + 4 and lines[0].startswith("| rank | job | status | val/loss |")
    assert "| **failed** |" in lines[-1] and "bad \\| mix" in lines[-1]


def test_html_is_self_contained_with_every_chart_embedded_as_its_png(sweep):
    report = build_report(sweep)
    page = (sweep / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched from anywhere
    assert "<script" not in page
    embedded = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert [base64.b64decode(data) for data in embedded] == [chart.png.read_bytes() for chart in report.charts]
    assert re.search(r'<tr class="failed" id="job-2">', page) and re.search(r'<tr class="best" id="job-1">', page)


def test_every_completed_job_has_its_curves_and_final_value_drawn(sweep):
    charts = {chart.name: chart for chart in build_report(sweep).charts}
    for metric in ("val_loss", "val_acc"):
        assert sorted(re.findall(rf"curve-(\d+)-{metric}", " ".join(charts["curves"].series))) == ["0", "1", "3"]
    assert sorted(charts["final"].series) == ["final-0", "final-1", "final-3"]


def test_params_chart_plots_each_swept_lever(sweep):
    charts = {chart.name: chart for chart in build_report(sweep).charts}
    assert set(charts["params"].series) == {"param-optimizer", "param-model_depth"}


def test_pngs_are_written_and_decode(sweep):
    report = build_report(sweep)
    pngs = [path for path in report.files if path.suffix == ".png"]
    assert {path.name for path in pngs} == {"curves.png", "final.png", "params.png", "parallel.png"}
    for path in pngs:
        image = matplotlib.image.imread(path)
        assert image.shape[0] > 100 and image.shape[1] > 100 and image.std() > 0  # something drawn


def test_kfold_job_curves_are_the_mean_of_its_folds(tmp_path):
    job = make_job(tmp_path, "0", ["data.folds=2"], 0.5, cv={"k": 2, "std": 0.1})
    (job / "metrics.csv").unlink()
    for fold, loss in ((0, 1.0), (1, 3.0)):
        (job / f"fold_{fold}").mkdir()
        (job / f"fold_{fold}" / "metrics.csv").write_text(f"epoch,step,train/loss,val/loss\n0,0,,{loss}\n")
    (loaded,) = load_jobs(tmp_path)
    assert loaded.curves["val/loss"] == [(0, 2.0)]
    assert rank_jobs([loaded]).rows()[0][3:5] == ["0.5", "0.1"]


def test_report_command_prints_the_best_job_and_exits_1_when_a_job_failed(sweep, capsys):
    assert main([str(sweep)]) == 1
    printed = capsys.readouterr().out
    assert f"dir:     {sweep / '1'}" in printed
    assert "command: python train.py optimizer=adam model.depth=2" in printed
    assert "1 of 4 jobs failed" in printed


def test_report_command_exits_0_when_every_job_completed(tmp_path):
    make_job(tmp_path, "0", ["seed=1"], 0.3)
    assert main([str(tmp_path)]) == 0


def test_report_command_on_a_directory_without_jobs_says_so(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "no job directories" in capsys.readouterr().err


def test_a_job_killed_mid_training_is_reported_failed_with_the_reason(tmp_path):
    for job, status in (("0", "completed"), ("1", "running")):  # "running" is what a SIGKILLed job leaves
        (tmp_path / job).mkdir()
        summary = {"status": status, "monitor": "val/loss", "monitor_mode": "min", "best_value": 0.5, "epochs_run": 3}
        (tmp_path / job / "summary.json").write_text(json.dumps({**summary, "overrides": [f"seed={job}"]}))
    killed = {job.name: job for job in load_jobs(tmp_path)}["1"]
    assert killed.status == "failed" and "killed" in killed.error and "3 epochs" in killed.error
