"""An 8-job grid on digits (optimizer x depth x width, a fixed number of epochs, early stopping off) with the basic
launcher (torch's default threads, and one thread) and with 2 parallel joblib jobs (levers gives each job
cores // n_jobs torch threads). For each: the wall time of the whole multirun, the sum of its jobs' own training
times (summary.json `wall_time_s`: fit + test, not start-up or data loading) and their ratio. Prints a table and
writes bench/results/sweep.json. A benchmark, not a test.

Usage: python bench/sweep_parallel.py [--repeats N] [--epochs E ...] [--variants basic,joblib_2] [overrides...]
The ratio wall / sum is what the launcher adds (start-up, imports, report) or saves (jobs side by side): below 1
only when parallel jobs overlap more than the worker processes' own start-up costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "sweep.json"
GRID = ["-m", "data=digits", "optimizer=adam,sgd", "model.depth=1,2", "model.width=64,128",
        "callbacks.early_stopping=null", "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false"]  # fmt: skip
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
VARIANTS = {  # key: (description, overrides, extra environment)
    "basic": ("basic, torch's default threads", [], {}),
    "basic_1_thread": ("basic, OMP/MKL_NUM_THREADS=1", [], {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}),
    "joblib_2": ("joblib, n_jobs=2", JOBLIB, {}),
}


def run_grid(extra: list[str], env: dict[str, str], epochs: int, overrides: list[str]) -> dict[str, float]:
    """One multirun in a fresh process: its wall time and its jobs' summed training time."""
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "sweep"
        args = [sys.executable, str(ROOT / "train.py"), *GRID, f"trainer.max_epochs={epochs}", *extra,
                f"hydra.sweep.dir={sweep}", *overrides]  # fmt: skip
        # This checkout's levers, whatever the caller's PYTHONPATH (a relative one would not hold in `tmp`).
        path = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
        start = time.perf_counter()
        done = subprocess.run(
            args, cwd=tmp, capture_output=True, text=True, env={**os.environ, **env, "PYTHONPATH": path}
        )
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"multirun failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        summaries = [json.loads(p.read_text()) for p in sorted(sweep.glob("*/summary.json"))]
    return {"wall_s": wall, "jobs_sum_s": sum(s["wall_time_s"] for s in summaries), "jobs": len(summaries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs of each variant, alternating; medians reported")
    parser.add_argument("--epochs", type=int, nargs="+", default=[5, 30], help="epochs per job (no early stopping)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    options, overrides = parser.parse_known_args()
    chosen = options.variants.split(",")
    results: dict[str, dict[str, dict[str, float]]] = {}
    for epochs in options.epochs:
        runs: dict[str, list[dict[str, float]]] = {key: [] for key in chosen}
        for _ in range(options.repeats):
            for key in chosen:
                _name, extra, env = VARIANTS[key]
                runs[key].append(run_grid(extra, env, epochs, overrides))
        results[str(epochs)] = {key: _medians(measured) for key, measured in runs.items()}
    print(f"8-job grid on digits ({' '.join(GRID[2:5])}), {os.cpu_count()} cores, medians of {options.repeats} run(s)")
    print(f"{'epochs':>6s}  {'launcher':32s} {'wall (s)':>9s} {'sum of jobs (s)':>16s} {'wall / sum':>11s}")
    for epochs, by_variant in results.items():
        for key, figures in by_variant.items():
            print(f"{epochs:>6s}  {VARIANTS[key][0]:32s} {figures['wall_s']:9.1f} {figures['jobs_sum_s']:16.1f} "
                  f"{figures['wall_over_sum']:11.2f}")  # fmt: skip
    meta = {"grid": GRID, "overrides": overrides, "cores": os.cpu_count(), "repeats": options.repeats}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**meta, "by_epochs": results}, indent=2) + "\n")
    print(f"written: {RESULTS.relative_to(ROOT)}")


def _medians(measured: list[dict[str, float]]) -> dict[str, float]:
    wall = statistics.median(m["wall_s"] for m in measured)
    jobs_sum = statistics.median(m["jobs_sum_s"] for m in measured)
    return {
        "wall_s": round(wall, 2),
        "jobs_sum_s": round(jobs_sum, 2),
        "wall_over_sum": round(wall / jobs_sum, 3),
        "jobs": int(measured[0]["jobs"]),
    }


if __name__ == "__main__":
    main()
