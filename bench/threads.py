"""Torch threads on a busy machine (issue 16): the default command alone and next to a CPU hog, per thread policy.

Two parts, each measured in this one run:
1. Step time of an MLP training step (forward, backward, Adam) at several sizes with 1 and with every core's
   thread, on the machine as it is and next to the hog: where a second thread starts to pay (levers.threads'
   STEP_FLOPS_PER_THREAD).
2. Wall time of the default command (`python train.py`, digits) with `threads=auto`, `threads=1` and
   `threads=<cores>` (torch's own default), alone and next to the hog: one busy process per core minus one.
   Goal: with the hog, auto takes at most 1.5x its time alone, and alone it is no slower than the best fixed count.

Runs alternate (A B C, A B C, ...) and report medians, since the machine may be shared. Prints the tables and
writes bench/results/threads.json. Not part of the test suite.

    .venv/bin/python bench/threads.py [--repeats 2] [--epochs N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "threads.json"
CORES = len(os.sched_getaffinity(0))
# (inputs, width, depth, batch): the default digits step first, then a Fashion-MNIST-sized MLP at growing batches
SIZES = [
    (64, 256, 2, 32),
    (64, 256, 2, 256),
    (784, 256, 2, 64),
    (784, 256, 2, 128),
    (784, 256, 2, 256),
    (784, 512, 3, 256),
    (784, 1024, 3, 1024),
]

STEP_SCRIPT = """
import sys, time, torch
from torch import nn
inputs, width, depth, batch, threads = map(int, sys.argv[1:6])
torch.manual_seed(0)
torch.set_num_threads(threads)
layers, size = [], inputs
for _ in range(depth):
    layers += [nn.Linear(size, width), nn.ReLU()]
    size = width
net = nn.Sequential(*layers, nn.Linear(size, 10))
opt = torch.optim.Adam(net.parameters())
x, y = torch.randn(batch, inputs), torch.randint(0, 10, (batch,))
def step():
    opt.zero_grad(); nn.functional.cross_entropy(net(x), y).backward(); opt.step()
for _ in range(5): step()
start, steps = time.perf_counter(), 0
while time.perf_counter() - start < 1.5:
    step(); steps += 1
params = sum(p.numel() for p in net.parameters())
print((time.perf_counter() - start) / steps, 6 * params * batch)
"""


def clean_env() -> dict[str, str]:
    """The user's environment without a thread setting (the point is what levers does without one)."""
    return {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}


@contextlib.contextmanager
def hog(count: int) -> Iterator[None]:
    """`count` busy processes (a pure-Python loop each)."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.5)
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def step_time(size: tuple[int, int, int, int], threads: int) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", STEP_SCRIPT, *map(str, size), str(threads)],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    ).stdout.split()
    return float(out[0]), float(out[1])


def train_time(threads: str, epochs: int | None) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, str(ROOT / "train.py"), f"threads={threads}", "quiet=true", f"hydra.run.dir={tmp}"]
        if epochs:
            command.append(f"trainer.max_epochs={epochs}")
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, text=True, check=True, env=clean_env(), cwd=tmp)
        elapsed = time.perf_counter() - start
        summary = json.loads((Path(tmp) / "summary.json").read_text())
    return elapsed, summary.get("threads", {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=None, help="trainer.max_epochs (default: the default run's)")
    args = parser.parse_args()
    hogs = max(1, CORES - 1)
    load = os.getloadavg()
    print(f"{CORES} usable cores; load average before: {load[0]:.2f}; hog: {hogs} busy process(es)\n")

    steps = []
    print("MLP step time (ms), 1 thread vs", CORES)
    header = ("MFLOP", "alone 1t", "alone Nt", "hog 1t", "hog Nt")
    print(f"{'size (in-width x depth, batch)':34}", " ".join(f"{name:>9}" for name in header))
    for size in SIZES:
        row: dict = {"size": list(size)}
        for where in ("alone", "hog"):
            with hog(hogs) if where == "hog" else contextlib.nullcontext():
                for threads in (1, CORES):
                    t, flops = step_time(size, threads)
                    row[f"{where}_{threads}t_ms"] = t * 1e3
                    row["mflop"] = flops / 1e6
        steps.append(row)
        label = f"{size[0]}-{size[1]}x{size[2]}, batch {size[3]}"
        print(
            f"{label:34} {row['mflop']:9.0f} {row['alone_1t_ms']:9.2f} {row[f'alone_{CORES}t_ms']:9.2f}"
            f" {row['hog_1t_ms']:9.2f} {row[f'hog_{CORES}t_ms']:9.2f}"
        )

    policies = ["auto", "1", str(CORES)]
    times: dict[str, dict[str, list[float]]] = {where: {p: [] for p in policies} for where in ("alone", "hog")}
    chosen: dict[str, dict] = {}
    for where in ("alone", "hog"):
        with hog(hogs) if where == "hog" else contextlib.nullcontext():
            for _ in range(args.repeats):
                for policy in policies:
                    elapsed, threads = train_time(policy, args.epochs)
                    times[where][policy].append(elapsed)
                    chosen.setdefault(f"{where}_{policy}", threads)
    medians = {where: {p: statistics.median(v) for p, v in by.items()} for where, by in times.items()}
    print(f"\n`python train.py` wall time (s), median of {args.repeats}")
    print(f"{'threads':10} {'alone':>8} {'with hog':>9} {'hog/alone':>10}")
    for policy in policies:
        alone, busy = medians["alone"][policy], medians["hog"][policy]
        print(f"{policy:10} {alone:8.1f} {busy:9.1f} {busy / alone:10.2f}")
    auto_ratio = medians["hog"]["auto"] / medians["alone"]["auto"]
    best_fixed_alone = min(medians["alone"]["1"], medians["alone"][str(CORES)])
    print(f"\nauto with the hog / auto alone: {auto_ratio:.2f} (goal <= 1.5)")
    print(
        f"auto alone / best fixed count alone: {medians['alone']['auto'] / best_fixed_alone:.2f} (goal <= 1.0 + noise)"
    )
    print(f"auto chose: alone {chosen.get('alone_auto')}, with hog {chosen.get('hog_auto')}")
    RESULTS.write_text(
        json.dumps(
            {
                "cores": CORES,
                "load_average_before": load,
                "hogs": hogs,
                "step_times": steps,
                "train_wall_s": times,
                "train_wall_median_s": medians,
                "auto_hog_over_alone": auto_ratio,
                "auto_chose": chosen,
            },
            indent=2,
        )
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
