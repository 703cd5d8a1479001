"""Continuing an interrupted run in its own directory, from its own config and its last checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from levers.errors import LeversConfigError
from levers.loggers.csv import trim_rows_from_step


def resume_point(cfg: DictConfig) -> tuple[DictConfig, str | None]:
    """The config to train with and the checkpoint to start from.

    `resume=<run dir>`: that run's saved config (so nothing drifts) and its checkpoints/last.ckpt, the end of
    its last completed epoch; metrics.csv rows logged after that checkpoint are dropped, as they will be logged again.
    `ckpt_path=<file>`: the current config, starting from that checkpoint.
    """
    if not cfg.get("resume"):
        return cfg, cfg.get("ckpt_path")
    run_dir = Path(cfg.resume).resolve()
    saved_config, last = run_dir / ".hydra" / "config.yaml", run_dir / "checkpoints" / "last.ckpt"
    if not saved_config.is_file() or not last.is_file():
        raise LeversConfigError(
            "resume", str(run_dir), "a run directory holding .hydra/config.yaml and checkpoints/last.ckpt"
        )
    saved = OmegaConf.load(saved_config)
    with open_dict(saved):
        saved.resume, saved.ckpt_path = None, None
        saved.paths.output_dir = str(run_dir)
    global_step = torch.load(last, map_location="cpu", weights_only=True)["global_step"]
    trim_rows_from_step(run_dir / "metrics.csv", global_step)
    return saved, str(last)
