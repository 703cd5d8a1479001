"""How many intra-op threads torch trains with (`threads=auto | N`).

torch starts one intra-op thread per core. For the small steps most tabular runs take, a second thread gains
nothing, and when another process keeps a core busy the threads wait on each other at every operation: a digits
epoch took 20x longer with torch's default on a 2-core machine next to one busy process (issue 16). `auto` takes:

- the cores this process may use: its CPU affinity, capped by a cgroup CPU quota (containers), and by what torch
  already holds (a parallel launcher's job gets cores // n_jobs, levers.sweeps.threads);
- minus the cores other processes keep busy, sampled from /proc/stat for a fraction of a second at start;
- one thread when a training step is too small to share (under STEP_FLOPS_PER_THREAD floating-point operations
  per extra thread, counted on one real batch with torch's FLOP counter).

An `OMP_NUM_THREADS` in the environment is the user's own choice and is kept. A number N is used as given.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

# Below this much work per step and extra thread, splitting each operation costs more than it saves: on this
# project's 2-core machine a 2-thread step only won at about 18 GFLOP per step (an MLP 784-1024x3 at batch 1024;
# bench/threads.py), while every default level (digits, tables, Fashion-MNIST MLP) is under 1 GFLOP.
STEP_FLOPS_PER_THREAD = 2e9
BUSY_SAMPLE_S = 0.2  # how long /proc/stat is watched for other processes' load
# What torch was given before levers chose (one per core, or a parallel launcher's share): auto never exceeds it,
# and a later job of the same process starts from it again, not from an earlier job's choice.
STARTING_THREADS = torch.get_num_threads()


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    reason: str


def choose_threads(
    setting: int | str,
    step_flops: float,
    usable: int,
    busy_elsewhere: float,
    env_threads: str | None,
) -> ThreadChoice:
    """The thread count and why (logged in train.log and kept in summary.json)."""
    if setting != "auto":
        return ThreadChoice(int(setting), f"threads={setting}")
    if env_threads:
        return ThreadChoice(torch.get_num_threads(), f"OMP_NUM_THREADS={env_threads} in the environment")
    free = max(1, min(usable, math.floor(usable - busy_elsewhere + 0.5)))
    reason = f"auto: {usable} usable core(s), {busy_elsewhere:.1f} busy elsewhere"
    if not math.isfinite(step_flops):  # before the model exists: the free cores only
        return ThreadChoice(free, reason)
    by_work = max(1, int(step_flops // STEP_FLOPS_PER_THREAD) + 1)
    reason += f", {step_flops / 1e6:.3g} MFLOP per step (a thread per {STEP_FLOPS_PER_THREAD / 1e9:g} GFLOP)"
    threads = min(free, by_work)
    return ThreadChoice(threads, reason)


def usable_cores() -> int:
    """CPU affinity, capped by a cgroup CPU quota and by the threads torch was already given."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_quota()
    if quota is not None:
        cores = min(cores, max(1, math.floor(quota)))
    return max(1, min(cores, STARTING_THREADS))


def cgroup_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs allowed by the cgroup (v2 `cpu.max`, v1 `cpu.cfs_quota_us`), None when unlimited or unknown."""
    try:
        if (root / "cpu.max").exists():
            quota, period = (root / "cpu.max").read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        quota_file, period_file = root / "cpu" / "cpu.cfs_quota_us", root / "cpu" / "cpu.cfs_period_us"
        if quota_file.exists() and period_file.exists():
            quota_us = int(quota_file.read_text())
            return None if quota_us <= 0 else quota_us / int(period_file.read_text())
    except (OSError, ValueError):
        return None
    return None


def busy_elsewhere(interval: float = BUSY_SAMPLE_S, stat: Path = Path("/proc/stat")) -> float:
    """Cores kept busy by other processes over `interval` seconds (0.0 where /proc/stat cannot be read)."""
    try:
        before, own_before = _cpu_jiffies(stat), _own_seconds()
        time.sleep(interval)
        after, own_after = _cpu_jiffies(stat), _own_seconds()
    except (OSError, ValueError):
        return 0.0
    busy = after[0] - before[0]
    total = after[1] - before[1]
    if total <= 0:
        return 0.0
    cores = os.cpu_count() or 1
    own = (own_after - own_before) / interval  # cores this process used meanwhile (it sleeps: ~0)
    return max(0.0, busy / total * cores - own)


def _cpu_jiffies(stat: Path) -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs; idle and iowait are not busy."""
    fields = [int(value) for value in stat.read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


def step_flops(net: nn.Module, features: torch.Tensor) -> float:
    """Floating-point operations of one training step on this batch: forward counted, backward taken as 2x."""
    was_training = net.training
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            net.eval()
            net(features)
    finally:
        net.train(was_training)
    return 3.0 * counter.get_total_flops()


def apply(choice: ThreadChoice) -> None:
    if torch.get_num_threads() != choice.threads:
        torch.set_num_threads(choice.threads)
