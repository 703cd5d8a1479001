"""Wall time of one 4-job grid: sequential (torch's default threads, and one thread) and 2 parallel joblib jobs
(loky gives each worker cores // n_jobs threads). Prints figures; not a test.
Usage: python bench/sweep_parallel.py [extra overrides...]"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRID = ["-m", "optimizer=adam,sgd", "model.depth=1,2", "trainer.max_epochs=15", "callbacks.early_stopping=null",
        "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]  # fmt: skip
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
VARIANTS = {  # name: (overrides, extra environment)
    "sequential, torch's default threads": ([], {}),
    "sequential, OMP_NUM_THREADS=1": ([], {"OMP_NUM_THREADS": "1"}),
    "joblib, 2 parallel jobs": (JOBLIB, {}),
}


def main() -> None:
    for name, (extra, env) in VARIANTS.items():
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            args = [sys.executable, str(ROOT / "train.py"), *GRID, *extra, f"hydra.sweep.dir={tmp}/s", *sys.argv[1:]]
            done = subprocess.run(args, cwd=tmp, capture_output=True, text=True, env={**os.environ, **env})
            seconds = time.perf_counter() - start
        status = "ok" if done.returncode == 0 else f"exit {done.returncode}: {done.stderr[-300:]}"
        print(f"{name:48s} {seconds:6.1f} s  {status}", flush=True)


if __name__ == "__main__":
    main()
