"""Prints how long the sweep report takes to build (leaderboard, charts, importance, HTML) for synthetic sweeps of
4, 50 and 200 jobs written the way real jobs write them, and where the time goes; writes
bench/results/sweep_report.json. The report runs at the end of every multirun, so it must stay a few seconds.
matplotlib and Optuna are imported once before timing: a sweep's own process has loaded them (or pays once).

    PYTHONPATH=src python bench/sweep_report.py [jobs ...]
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402
import optuna.importance  # noqa: E402, F401

from levers.sweeps import charts, report  # noqa: E402
from tests.sweeps.synthetic import optuna_like  # noqa: E402

REPEATS = 3


def timed(function):
    """Wrap `function` to add its wall time to the `spent` dict under its name."""

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[function.__name__] = spent.get(function.__name__, 0.0) + time.perf_counter() - started

    return wrapper


spent: dict[str, float] = {}


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [4, 50, 200]
    charts.save_chart = timed(charts.save_chart)  # the PNG rendering, where most of the time goes
    results = []
    for jobs in sizes:
        with tempfile.TemporaryDirectory() as out:
            sweep = optuna_like(Path(out) / "sweep", jobs)
            times, cpu = [], []
            for _ in range(REPEATS):
                spent.clear()
                started, cpu_started = time.perf_counter(), time.process_time()
                built = report.build_report(sweep)
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
            page = (sweep / "report.html").stat().st_size
            best = min(times)
            print(f"{jobs:>4} jobs: build_report {best:5.2f} s (best of {REPEATS}; all: "
                  f"{', '.join(f'{t:.2f}' for t in times)}; CPU {min(cpu):.2f} s), of which PNG rendering "
                  f"{spent['save_chart']:.2f} s; "
                  f"{len(built.charts)} charts, report.html {page / 1e6:.2f} MB", flush=True)  # fmt: skip
            results.append({"jobs": jobs, "seconds": best, "all_seconds": times, "cpu_seconds": min(cpu),
                            "png_seconds": spent["save_chart"],
                            "charts": len(built.charts), "html_bytes": page})  # fmt: skip
    out = ROOT / "bench" / "results" / "sweep_report.json"
    out.parent.mkdir(exist_ok=True)
    load = os.getloadavg()[0]  # a shared machine: the wall time grows with the load, the CPU time less so
    machine = {"machine": platform.platform(), "python": platform.python_version(), "cores": os.cpu_count()}
    out.write_text(json.dumps({**machine, "load_average_1min": load, "results": results}, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
