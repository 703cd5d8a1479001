"""Which lever mattered: Optuna's fANOVA over a sweep's jobs, a grid's as well as a search's."""

from __future__ import annotations

from levers.sweeps.importance import param_importances
from levers.sweeps.jobs import load_jobs
from levers.sweeps.leaderboard import rank_jobs
from tests.sweeps.synthetic import grid_over_seeds, optuna_like


def test_a_search_names_the_learning_rate_first_and_the_inert_width_last(tmp_path):
    importances, why_not = param_importances(rank_jobs(load_jobs(optuna_like(tmp_path, 60))))
    assert why_not == "" and set(importances) == {"optimizer", "optimizer.lr", "model.depth", "model.width"}
    assert next(iter(importances)) == "optimizer.lr" and importances["model.width"] < 0.05
    assert abs(sum(importances.values()) - 1.0) < 1e-6


def test_a_grid_over_seeds_leaves_the_seed_out_and_names_the_optimizer(tmp_path):
    importances, _ = param_importances(rank_jobs(load_jobs(grid_over_seeds(tmp_path))))
    assert set(importances) == {"optimizer", "model.depth"}
    assert importances["optimizer"] > importances["model.depth"]


def test_the_same_sweep_gives_the_same_importances(tmp_path):
    board = rank_jobs(load_jobs(optuna_like(tmp_path, 30)))
    assert param_importances(board) == param_importances(board)


def test_one_swept_lever_or_too_few_jobs_say_why_there_is_no_importance(tmp_path):
    board = rank_jobs(load_jobs(optuna_like(tmp_path / "few", 4)))  # 3 completed: job 3 diverged
    assert param_importances(board) == ({}, "importance needs 4 or more completed jobs (3 completed)")
    from tests.sweeps.synthetic import write_job

    for n, lr in enumerate(("0.1", "0.01")):
        write_job(tmp_path / "one", str(n), [f"optimizer.lr={lr}"], [(0.5 + n, 0.5)])
    assert param_importances(rank_jobs(load_jobs(tmp_path / "one")))[1] == "importance needs two or more swept levers"
