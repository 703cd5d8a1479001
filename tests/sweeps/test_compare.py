"""`levers report dirA dirB`: each sweep's own report and one page comparing them."""

from __future__ import annotations

import re

from levers.sweeps.report import main
from tests.sweeps.synthetic import grid_over_seeds, optuna_like, write_job


def test_two_sweeps_get_their_own_reports_and_one_comparison_page(tmp_path, capsys):
    grid, search = grid_over_seeds(tmp_path / "grid"), optuna_like(tmp_path / "optuna", 20)
    assert main([str(grid), str(search)]) == 1  # the search has failed trials: the worst exit code
    page = (tmp_path / "comparison.html").read_text()  # default: the sweeps' common folder
    assert (grid / "report.html").exists() and (search / "report.html").exists()
    rows = re.findall(r"<tr><td>(grid|optuna)</td><td class='num'>(\d+)</td>", page)
    assert rows == [("grid", "12"), ("optuna", "20")]
    top = page[page.index('id="top-jobs"') :]
    assert len(re.findall(r"<tr><td>\d+</td>", top)) == 10 and "<td>grid</td>" in top and "<td>optuna</td>" in top
    assert "comparison of 2 sweeps" in capsys.readouterr().out


def test_the_top_jobs_of_all_sweeps_are_ranked_together(tmp_path):
    for sweep, losses in (("a", (0.3, 0.5)), ("b", (0.2, 0.4))):
        for n, loss in enumerate(losses):
            write_job(tmp_path / sweep, str(n), [f"model.depth={n + 1}"], [(loss, 0.8)])
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "out" / "c.html")]) == 0
    top = (tmp_path / "out" / "c.html").read_text().split('id="top-jobs"')[1]
    assert re.findall(r"<tr><td>\d</td><td>(\w)</td><td>(\d)</td><td>([\d.]+)</td>", top) == [
        ("b", "0", "0.2"), ("a", "0", "0.3"), ("b", "1", "0.4"), ("a", "1", "0.5"),
    ]  # fmt: skip


def test_sweeps_ranked_by_different_metrics_are_listed_but_not_compared(tmp_path):
    write_job(tmp_path / "a", "0", ["seed=1"], [(0.3, 0.8)])
    job = write_job(tmp_path / "b", "0", ["seed=1"], [(0.3, 0.8)])
    (job / "summary.json").write_text((job / "summary.json").read_text().replace('"val/loss"', '"val/acc"'))
    assert main([str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    page = (tmp_path / "comparison.html").read_text()
    assert "rank by different metrics" in page and "<img" not in page and 'id="top-jobs"' not in page


def test_a_directory_without_jobs_is_named_and_exits_2_while_the_others_are_reported(tmp_path, capsys):
    write_job(tmp_path / "a", "0", ["seed=1"], [(0.3, 0.8)])
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "a"), str(tmp_path / "empty")]) == 2
    assert "no job directories" in capsys.readouterr().err and (tmp_path / "a" / "report.html").exists()
