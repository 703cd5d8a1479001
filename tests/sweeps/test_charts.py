"""The charts at any size: the top 10 jobs' curves over a band for the rest, a capped dot chart, discrete axes with a
tick per value, and the optional charts only when they have something to say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from levers.sweeps.charts import MAX_BARS, TOP, _axis_of, draw_charts
from levers.sweeps.jobs import load_jobs
from levers.sweeps.leaderboard import rank_jobs
from levers.sweeps.repeats import group_repeats
from tests.sweeps.synthetic import grid_over_seeds, optuna_like


def _charts(tmp_path, board, **kwargs):
    return {chart.name: chart for chart in draw_charts(board, tmp_path, **kwargs)}


def test_a_large_search_draws_the_top_10_curves_and_a_band_for_the_rest(tmp_path):
    board = rank_jobs(load_jobs(optuna_like(tmp_path / "sweep", 80)))
    curves = _charts(tmp_path, board)["curves"].series
    top = [job.name for job in board.jobs if job.curves][:TOP]
    for metric in ("val_loss", "val_acc"):
        assert [s.split("-")[1] for s in curves if s.startswith("curve-") and s.endswith(metric)] == top
        assert f"band-{metric}" in curves


def test_a_small_sweep_draws_every_job_and_no_band(tmp_path):
    board = rank_jobs(load_jobs(optuna_like(tmp_path / "sweep", 6)))
    curves = _charts(tmp_path, board)["curves"].series
    assert not any(s.startswith("band-") for s in curves)
    assert {s.split("-")[1] for s in curves} == {job.name for job in board.jobs if job.curves}


def test_the_final_chart_shows_the_top_jobs_only_and_the_history_appears_past_10_jobs(tmp_path):
    big = _charts(tmp_path, rank_jobs(load_jobs(optuna_like(tmp_path / "big", 80))))
    assert len(big["final"].series) == MAX_BARS and "history" in big
    small = _charts(tmp_path, rank_jobs(load_jobs(optuna_like(tmp_path / "small", 6))))
    assert "history" not in small


def test_parallel_coordinates_need_two_levers_and_importance_and_configs_charts_their_input(tmp_path):
    board = rank_jobs(load_jobs(grid_over_seeds(tmp_path / "grid")))
    charts = _charts(tmp_path, board, importances={"optimizer": 0.9, "model.depth": 0.1}, configs=group_repeats(board))
    assert {"parallel", "importance", "configs"} <= set(charts)
    assert len(charts["configs"].series) == 4
    assert not {"importance", "configs"} & set(_charts(tmp_path, board))


def test_integer_levers_get_one_tick_per_value_never_a_half():
    axis = _axis_of(["1", "2", "4", "2"])
    assert axis.discrete and list(axis.labels.values()) == ["1", "2", "4"]
    batch = _axis_of(["16", "32", "64", "128"])  # powers of two: evenly spaced, labelled as typed
    assert batch.positions == [0.0, 1.0, 2.0, 3.0] and list(batch.labels.values()) == ["16", "32", "64", "128"]
    many = _axis_of([str(n) for n in range(1, 40)])
    assert not many.discrete and many.integer
    assert all(float(text).is_integer() for _, text in many.ticks())


def test_words_are_categories_and_decades_are_spaced_evenly():
    words = _axis_of(["sgd", "adam", "sgd"])
    assert list(words.labels.values()) == ["adam", "sgd"] and words.positions == [1.0, 0.0, 1.0]
    decades = _axis_of(["0.0001", "0.001", "0.01"])
    assert decades.positions == [0.0, 1.0, 2.0] and list(decades.labels.values()) == ["0.0001", "0.001", "0.01"]
    search = _axis_of([str(10**-k / 3) for k in range(1, 30)])  # many floats over decades: a log axis
    assert search.log and not search.discrete


def test_a_sweep_where_every_job_failed_still_gets_its_charts_without_the_empty_ones(tmp_path):
    from tests.sweeps.synthetic import write_job

    for n in range(12):
        write_job(tmp_path / "sweep", str(n), [f"model.depth={n % 3 + 1}"], None, status="failed", error="boom")
    charts = _charts(tmp_path, rank_jobs(load_jobs(tmp_path / "sweep")))
    assert list(charts) == ["curves", "final", "history"]
    assert charts["final"].series == () and charts["curves"].series == ()
