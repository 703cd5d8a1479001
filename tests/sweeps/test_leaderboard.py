"""The leaderboard for reading (terminal, Markdown, HTML): constant overrides said once, numbers to 4 digits; the CSV
keeps every column and the overrides as typed."""

from __future__ import annotations

import csv

from levers.sweeps.jobs import load_jobs
from levers.sweeps.leaderboard import rank_jobs, short_value, to_markdown, to_text
from levers.sweeps.report import build_report
from tests.sweeps.synthetic import optuna_like


def test_an_override_every_job_shares_is_said_once_not_a_column(tmp_path):
    board = rank_jobs(load_jobs(optuna_like(tmp_path, 12)))
    assert board.constant_params == {"hparams_search": "optuna"}
    assert "hparams_search" not in board.header(compact=True) and "hparams_search" in board.header()
    for text in (to_markdown(board), to_text(board)):
        assert text.splitlines()[0] == "same in every job: hparams_search=optuna"
        assert "hparams_search " not in text.splitlines()[-1]


def test_readable_tables_round_to_4_significant_digits_and_the_csv_keeps_the_overrides(tmp_path):
    sweep = optuna_like(tmp_path, 12)
    build_report(sweep)
    board = rank_jobs(load_jobs(sweep))
    lr = board.header(compact=True).index("optimizer.lr")
    raw = board.jobs[0].params["optimizer.lr"]
    assert len(raw) > 10 and board.rows(compact=True)[0][lr] == f"{float(raw):.4g}"
    assert f"{float(raw):.4g}" in (sweep / "report.html").read_text() and raw not in to_markdown(board)
    assert next(csv.DictReader((sweep / "leaderboard.csv").open()))["optimizer.lr"] == raw


def test_short_value_keeps_integers_and_words():
    assert [short_value(v) for v in ("0.004884654063709476", "128", "adam", "1e-05", "-3")] == [
        "0.004885", "128", "adam", "1e-05", "-3",
    ]  # fmt: skip
