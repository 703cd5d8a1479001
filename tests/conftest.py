"""Shared fixtures: compose the real config from conf/ with Hydra's compose API, run in-process."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

# The networks under test are tiny: one intra-op thread is faster than two fighting over 2 cores, and test
# subprocesses inherit it. (A speed setting for the suite only; levers itself leaves torch's default.)
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

import levers.config  # noqa: F401  (registers schemas and resolvers)
from levers.cli import quiet_known_noise
from levers.config.location import config_dir

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
ROOT = Path(__file__).resolve().parents[1]
CONF = Path(config_dir())
# Quiet, small and quick: every test run still goes through the real Trainer, loggers and checkpoints.
FAST = [
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.max_epochs=3",
]


def group_options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONF / group).glob("*.yaml"))


def compose_cfg(output_dir: Path, *overrides: str, fast: bool = True) -> DictConfig:
    """conf/train.yaml composed with overrides; the run writes into output_dir."""
    quiet_known_noise()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[*(FAST if fast else []), *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


def compose_command(command: str, output_dir: Path, *overrides: str) -> DictConfig:
    """conf/<command>.yaml (eval, predict, export) composed with overrides; the command writes into output_dir."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(command, overrides=list(overrides))
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


def levers_command(command: str, output_dir: Path, **values: object) -> dict:
    """`levers <command> key=value ...` in-process; returns the summary it wrote into output_dir."""
    from levers.config.settings import command_settings
    from levers.serving.commands import run_command

    cfg = compose_command(command, output_dir, *(f"{k}={v}" for k, v in values.items()))
    return run_command(command, command_settings(command, cfg))


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose conf/train.yaml with overrides; each composed run writes into its own folder under tmp_path."""
    count = iter(range(1_000_000))

    def _make(*overrides: str, fast: bool = True) -> DictConfig:
        return compose_cfg(tmp_path / f"run{next(count)}", *overrides, fast=fast)

    return _make
