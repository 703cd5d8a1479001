"""Torch threads per parallel job: the cores shared out between the jobs joblib runs at once."""

from __future__ import annotations

import joblib
import pytest
import torch

from levers.sweeps.threads import limit_torch_threads, threads_per_job

CORES = joblib.cpu_count()


@pytest.mark.parametrize(
    ("n_jobs", "expected"),
    [(1, CORES), (2, max(1, CORES // 2)), (-1, 1), (4 * CORES, 1), (-2, CORES // max(1, CORES - 1))],
)
def test_each_job_gets_its_share_of_the_cores(n_jobs, expected):
    assert threads_per_job(n_jobs) == expected


def test_the_share_is_set_on_torch():
    before = torch.get_num_threads()
    try:
        assert limit_torch_threads(-1) == torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
