"""Mean +- std over a configuration's repeats (seeds, folds)."""

from __future__ import annotations

import json
import statistics

import pytest

from levers.sweeps.jobs import load_jobs
from levers.sweeps.leaderboard import rank_jobs
from levers.sweeps.repeats import group_repeats
from tests.sweeps.synthetic import grid_over_seeds, optuna_like, write_job


def test_a_grid_over_three_seeds_gives_one_row_per_configuration_with_mean_and_std(tmp_path):
    board = rank_jobs(load_jobs(grid_over_seeds(tmp_path, seeds=3)))
    configs = group_repeats(board)
    assert len(configs) == 4 and all(len(c.values) == 3 for c in configs)
    best = configs[0]
    values = [job.value for job in board.jobs if job.params["optimizer"] == best.params["optimizer"]
              and job.params["model.depth"] == best.params["model.depth"]]  # fmt: skip
    assert best.mean == pytest.approx(statistics.fmean(values)) and best.std == pytest.approx(statistics.stdev(values))
    assert [c.mean for c in configs] == sorted(c.mean for c in configs)  # best (lowest loss) first
    assert set(best.params) == {"optimizer", "model.depth"}


def test_a_cross_validated_job_counts_its_folds_as_repeats(tmp_path):
    for n, values in enumerate(([0.5, 0.7], [0.2, 0.4])):
        job = write_job(tmp_path, str(n), ["data.folds=2", f"model.depth={n + 1}"], [(sum(values) / 2, 0.5)])
        summary = json.loads((job / "summary.json").read_text())
        (job / "summary.json").write_text(json.dumps(summary | {"cv": {"k": 2, "values": values}}))
    configs = group_repeats(rank_jobs(load_jobs(tmp_path)))
    assert [(c.params, c.values) for c in configs] == [({"model.depth": "2"}, [0.2, 0.4]),
                                                       ({"model.depth": "1"}, [0.5, 0.7])]  # fmt: skip
    assert configs[0].std == pytest.approx(statistics.stdev([0.2, 0.4]))


def test_a_search_without_repeats_has_no_per_configuration_table(tmp_path):
    assert group_repeats(rank_jobs(load_jobs(optuna_like(tmp_path, 20)))) == []
