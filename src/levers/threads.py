"""How many intra-op threads torch trains with (`threads=auto | N`).

torch starts one intra-op thread per core. For the small steps most tabular runs take, a second thread gains
nothing, and when another process keeps a core busy the threads wait on each other at every operation: a digits
epoch took 20x longer with torch's default on a 2-core machine next to one busy process (issue 16). `auto` takes:

- the cores this process may use: its CPU affinity, capped by a cgroup CPU quota (containers), and by what torch
  already holds (a parallel launcher's job gets cores // n_jobs, levers.sweeps.threads);
- minus the cores other processes keep busy (levers.cpu_load: /proc/stat since the command started);
- one thread when a training step is too small to share (under STEP_FLOPS_PER_THREAD floating-point operations
  per extra thread, counted on one real batch by hooks on the layers that hold the work).

An `OMP_NUM_THREADS` in the environment is the user's own choice and is kept. A number N is used as given.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

# Below this much work per step and extra thread, a second thread is not worth its risk. On this project's 2-core
# machine, quiet, a second thread made an MLP step 1.6-1.8x faster from about 200 MFLOP up (784-256x2 at batch 128
# and 256) but only 1.0-1.15x from 16 to 130 MFLOP, and the default digits run (16 MFLOP a step) was slower with
# two; next to one busy process a second thread made every step 1.1-5x slower (bench/threads.py).
STEP_FLOPS_PER_THREAD = 2e8
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


WEIGHTED_LAYERS = (nn.Linear, nn.modules.conv._ConvNd, nn.RNNBase)


def step_flops(net: nn.Module, features: torch.Tensor) -> float:
    """Floating-point operations of one training step on this batch: the forward pass of the layers that hold the
    work (linear, convolution, recurrent), counted on the real batch; the backward pass taken as twice that.

    Written by hand rather than with torch's FlopCounterMode, whose first use imports torch._dynamo: about a second
    of every run's start-up, for a figure that only has to say whether a step is worth sharing.
    """
    total = 0.0

    def count(module: nn.Module, inputs: tuple, output: Any) -> None:
        nonlocal total
        total += layer_flops(module, inputs[0], output)

    was_training = net.training
    hooks = [layer.register_forward_hook(count) for layer in net.modules() if isinstance(layer, WEIGHTED_LAYERS)]
    try:
        with torch.no_grad():
            net.eval()
            net(features)
    finally:
        for hook in hooks:
            hook.remove()
        net.train(was_training)
    return 3.0 * total


def layer_flops(layer: nn.Module, inputs: Any, output: Any) -> float:
    """Multiply-adds x 2 of one layer's forward pass (the counts torch's FlopCounterMode gives these layers)."""
    if isinstance(layer, nn.Linear):
        return 2.0 * output.numel() * layer.in_features
    if isinstance(layer, nn.modules.conv._ConvNd):
        per_output = layer.in_channels // layer.groups * math.prod(layer.kernel_size)
        return 2.0 * output.numel() * per_output
    # recurrent: every weight matrix multiplies once per time step and sequence (packed or padded)
    steps = inputs.data.shape[0] if isinstance(inputs, nn.utils.rnn.PackedSequence) else math.prod(inputs.shape[:-1])
    matrices = sum(weight.numel() for name, weight in layer.named_parameters() if name.startswith("weight"))
    return 2.0 * steps * matrices


def apply(choice: ThreadChoice) -> None:
    if torch.get_num_threads() != choice.threads:
        torch.set_num_threads(choice.threads)
