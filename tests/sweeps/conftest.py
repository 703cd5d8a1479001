"""Run `train.py -m ...` in-process (Hydra's real multirun: sweeper, launcher, callbacks), then undo Hydra's globals."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig

from levers.cli import train_entry
from tests.conftest import FAST

QUICK = [*FAST, "trainer.max_epochs=2", "data.limit=240"]


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Tiny MLPs on a shared 2-core machine: one intra-op thread measured 7x faster than two (0.8 s vs 5.9 s a run)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run_multirun(monkeypatch: pytest.MonkeyPatch, sweep_dir: Path, *overrides: str) -> int:
    """The exit code `python train.py -m <overrides>` would have."""
    monkeypatch.setattr(sys, "argv", ["train.py", "-m", *QUICK, f"hydra.sweep.dir={sweep_dir}", *overrides])
    try:
        with one_torch_thread():
            train_entry()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    finally:
        GlobalHydra.instance().clear()
        HydraConfig.instance().cfg = None
        for handler in list(logging.getLogger().handlers):  # the last job's train.log handler
            if isinstance(handler, logging.FileHandler):
                logging.getLogger().removeHandler(handler)
                handler.close()
    return 0
