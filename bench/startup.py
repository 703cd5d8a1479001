"""Start-up of a default run (issue 6): process start -> first training step of `python train.py`, next to the time
of `python -c "import torch, pytorch_lightning, hydra"`. Alternating runs, medians; also used by bench/overhead.py.

The run is the real command, unmodified, going through Hydra's main like a user's: a callback that prints the wall
time of the first training step and ends the process is added through Lightning's own
`pytorch_lightning.callbacks_factory` entry point (a throwaway distribution on PYTHONPATH), not by patching levers.

    PYTHONPATH=src .venv/bin/python bench/startup.py [repetitions]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 5
IMPORT_CHILD = "import time, torch, pytorch_lightning, hydra; print(time.time(), flush=True)"
FIRST_STEP_MODULE = """
import os, time
import pytorch_lightning as pl

class FirstStep(pl.Callback):
    fused_steps_safe = True

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        print(time.time(), flush=True)
        os._exit(0)

def factory():
    return [FirstStep()]
"""


def first_step_plugin(folder: Path) -> Path:
    """A folder for PYTHONPATH holding the FirstStep callback, registered as a Lightning callbacks factory."""
    (folder / "levers_first_step.py").write_text(FIRST_STEP_MODULE)
    dist_info = folder / "levers_first_step-0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: levers-first-step\nVersion: 0\n")
    (dist_info / "entry_points.txt").write_text(
        "[pytorch_lightning.callbacks_factory]\nfirst_step = levers_first_step:factory\n"
    )
    return folder


def seconds_to_print(args: list[str], pythonpath: str = "") -> float:
    """Wall time from spawning `python *args` to the wall-clock time the child prints last (first step/imports)."""
    env = {**os.environ, "PYTHONPATH": pythonpath}
    spawned = time.time()
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return float(done.stdout.strip().splitlines()[-1]) - spawned


def startup_times(repeats: int = REPEATS) -> tuple[float, float]:
    """Medians of (process start -> first training step of `python train.py`, bare `import torch, pl, hydra`)."""
    startup, imports = [], []
    with tempfile.TemporaryDirectory() as scratch:
        plugin = first_step_plugin(Path(scratch))
        pythonpath = os.pathsep.join([str(ROOT / "src"), str(plugin)])
        for repeat in range(repeats):
            run = ["train.py", "trainer.max_epochs=1", f"hydra.run.dir={Path(scratch) / f'run{repeat}'}"]
            startup.append(seconds_to_print(run, pythonpath))
            imports.append(seconds_to_print(["-c", IMPORT_CHILD]))
    return statistics.median(startup), statistics.median(imports)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else REPEATS
    startup, imports = startup_times(repeats)
    print(
        f"start-up (process start -> first training step of `python train.py`, digits MLP): {startup:.2f} s; "
        f"`import torch, pytorch_lightning, hydra`: {imports:.2f} s; difference {startup - imports:.2f} s "
        f"(medians of {repeats} alternating runs; torch's default threads)"
    )


if __name__ == "__main__":
    main()
