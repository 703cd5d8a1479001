"""Cores that other processes keep busy, read from /proc/stat (what `threads=auto` leaves to them).

Load is busy time over a window. A window opened when the command starts (`open_window`, called by the command-line
entry before the heavy imports) is read when threads are chosen, a couple of seconds later, at no cost to the run;
without one (levers used from Python) the reading waits out a short window itself. Each reading opens the next
window, so every job of a multirun measures the load since the previous job chose.

Torch-free: opened before torch is imported.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

STAT = Path("/proc/stat")
MIN_WINDOW_S = 0.2  # shorter windows are waited out to this length


@dataclass(frozen=True)
class Reading:
    at: float  # time.monotonic()
    busy_jiffies: int
    total_jiffies: int
    own_cpu_s: float  # this process's user + system time


_window: Reading | None = None


def open_window(stat: Path = STAT) -> None:
    """Start measuring now; the next `busy_elsewhere` reads over the time since (nothing happens where /proc/stat
    cannot be read)."""
    global _window
    _window = _read(stat)


def busy_elsewhere(min_window_s: float = MIN_WINDOW_S, stat: Path = STAT) -> float:
    """Cores kept busy by other processes since the window opened, waiting until it is `min_window_s` long (0.0
    where /proc/stat cannot be read); then a new window opens."""
    global _window
    start = _window if _window is not None else _read(stat)
    if start is None:
        return 0.0
    wait = min_window_s - (time.monotonic() - start.at)
    if wait > 0:
        time.sleep(wait)
    end = _window = _read(stat)
    if end is None:
        return 0.0
    total = end.total_jiffies - start.total_jiffies
    elapsed = end.at - start.at
    if total <= 0 or elapsed <= 0:
        return 0.0
    cores = os.cpu_count() or 1
    own = (end.own_cpu_s - start.own_cpu_s) / elapsed  # cores this process kept busy meanwhile
    return max(0.0, (end.busy_jiffies - start.busy_jiffies) / total * cores - own)


def _read(stat: Path) -> Reading | None:
    try:
        fields = [int(value) for value in stat.read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait are not busy
    total = sum(fields[:8])  # guest time is already counted in user
    times = os.times()
    return Reading(time.monotonic(), total - idle, total, times.user + times.system)
