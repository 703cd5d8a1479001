"""Continuing an interrupted run in its own directory, from its own config and its last checkpoint.

Both files come from a run directory, so both are data: the saved config passes the trust check (only levers' own
classes), and the checkpoint is read with ``weights_only=True`` from a local path only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict

from levers.checkpoint_io import load_checkpoint, local_checkpoint
from levers.config.trust import trusted_config
from levers.errors import LeversConfigError
from levers.loggers.csv import trim_rows_from_step


def resume_point(cfg: DictConfig) -> tuple[DictConfig, str | None]:
    """The config to train with and the checkpoint to start from.

    `resume=<run dir>`: that run's saved config (so nothing drifts) and its checkpoints/last.ckpt, the end of
    its last completed epoch; metrics.csv rows logged after that checkpoint are dropped, as they will be logged again.
    `ckpt_path=<file>`: the current config, starting from that checkpoint (an existing local file).
    """
    if not cfg.get("resume"):
        start_from = cfg.get("ckpt_path")
        return cfg, str(local_checkpoint(start_from, "ckpt_path")) if start_from else None
    run_dir = Path(cfg.resume).resolve()
    saved_config, last = run_dir / ".hydra" / "config.yaml", run_dir / "checkpoints" / "last.ckpt"
    if "://" in str(cfg.resume) or not saved_config.is_file() or not last.is_file():
        raise LeversConfigError(
            "resume", str(cfg.resume), "a local run directory holding .hydra/config.yaml and checkpoints/last.ckpt"
        )
    refuse_completed(run_dir)
    saved = _load_saved_config(saved_config)
    with open_dict(saved):
        saved.resume, saved.ckpt_path = None, None
        OmegaConf.update(saved, "paths.output_dir", str(run_dir), force_add=True)
    saved = trusted_config(saved, saved_config)
    keep_paths_inside(saved, run_dir, saved_config)
    global_step = load_checkpoint(last, "resume").get("global_step", 0)
    trim_rows_from_step(run_dir / "metrics.csv", global_step)
    return saved, str(last)


# Keys whose value is a folder the run writes into (checkpoints, logs); Lightning also deletes old checkpoints there.
WRITE_FOLDER_KEYS = ("dirpath", "save_dir", "default_root_dir", "output_dir")


def keep_paths_inside(saved: DictConfig, run_dir: Path, source: Path) -> None:
    """A resumed run writes (and prunes checkpoints) only inside its own directory, whatever the file says."""
    for path, value in _leaves(OmegaConf.to_container(saved, resolve=True), ""):
        if path.rsplit(".", 1)[-1] in WRITE_FOLDER_KEYS and isinstance(value, str):
            target = Path(value).resolve()
            if target != run_dir and run_dir not in target.parents:
                raise LeversConfigError(f"{source}: {path}", value, f"a folder inside the run directory {run_dir}")


def _leaves(node: object, path: str) -> Iterator[tuple[str, object]]:
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _leaves(child, f"{path}.{key}" if path else str(key))
    else:
        yield path, node


def _load_saved_config(path: Path) -> DictConfig:
    try:
        saved = OmegaConf.load(path)
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as error:
        raise LeversConfigError("resume", str(path), f"a config file levers wrote ({type(error).__name__})") from None
    if not isinstance(saved, DictConfig):
        raise LeversConfigError("resume", str(path), "a config file levers wrote (a mapping of config groups)")
    return saved


def refuse_completed(run_dir: Path) -> None:
    """A completed run has nothing left to continue; resuming it would only overwrite its summary with nothing."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return  # killed before its first summary: there is something to continue
    if isinstance(summary, dict) and summary.get("status") == "completed":
        epochs = summary.get("epochs_run", "its")
        raise LeversConfigError(
            "resume",
            str(run_dir),
            "a run that has not completed; this one already completed: start a new run, or train its weights for "
            f"more epochs with ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'} trainer.max_epochs=<more than "
            f"{epochs}>",
        )
