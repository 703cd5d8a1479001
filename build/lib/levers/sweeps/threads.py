"""Torch threads for parallel jobs: `cores // n_jobs` each, so that jobs running side by side do not oversubscribe.

loky already exports OMP_NUM_THREADS / MKL_NUM_THREADS = cores // n_jobs to its workers (torch starts from them),
but only where the parent process has no value of its own (it passes the parent's on instead), and not at all
with joblib's threading backend; setting torch's intra-op pool in the job itself holds whatever the environment says.
"""

from __future__ import annotations


def threads_per_job(n_jobs: int | None) -> int:
    """cores // (jobs joblib runs at once), at least 1; n_jobs follows joblib: -1 all cores, -2 all but one..."""
    from joblib import cpu_count, effective_n_jobs  # joblib launcher only: joblib is installed

    return max(1, cpu_count() // max(1, effective_n_jobs(n_jobs)))


def limit_torch_threads(n_jobs: int | None) -> int:
    """Set this process's torch threads for one of `n_jobs` parallel jobs; return torch's count afterwards."""
    import torch

    torch.set_num_threads(threads_per_job(n_jobs))
    return torch.get_num_threads()
