"""Seeds derived from (run seed, epoch): the same epoch draws the same numbers however the run got there."""

from __future__ import annotations


def epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7_919) % 2**31
