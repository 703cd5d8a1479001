"""What a checkpoint must carry to rebuild its model without the training run: config, task, columns, encoding.

Stored under ``checkpoint["levers"]`` as plain dicts, lists and numbers (no pickled DictConfig), so every
checkpoint loads with ``torch.load(path, weights_only=True)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from levers.assembly import build_module
from levers.data.encoding import TableEncoder
from levers.data.scaling import AffineScaler
from levers.data.task import TaskSpec
from levers.errors import LeversConfigError
from levers.module import LitModel

KEY = "levers"


class ServingState(pl.Callback):
    """Adds the rebuild recipe to every checkpoint Lightning writes."""

    def __init__(self, cfg: DictConfig, data: Any) -> None:
        self.recipe = {
            "config": OmegaConf.to_container(cfg, resolve=True),
            "task": asdict(data.task),
            "num_features": data.num_features,
            "num_targets": data.target_scaler.offset.numel(),
            "class_names": [_plain(name) for name in data.class_names],
            "encoder": data.encoder.state() if data.encoder is not None else None,
        }

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint[KEY] = self.recipe


@dataclass
class Restored:
    """A checkpoint's model (eval mode, CPU) and what it was trained on."""

    module: LitModel
    cfg: DictConfig
    task: TaskSpec
    class_names: list[Any]
    encoder: TableEncoder | None
    path: Path

    @property
    def target_names(self) -> list[str]:
        target = self.cfg.data.get("target")
        if target is None:
            return [f"target_{i}" for i in range(self.task.num_targets)] if self.task.num_targets > 1 else ["target"]
        return [target] if isinstance(target, str) else list(target)


def restore(path: str | Path) -> Restored:
    path = Path(path)
    if not path.is_file():
        raise LeversConfigError("ckpt_path", str(path), "an existing checkpoint file (checkpoints/*.ckpt of a run)")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    recipe = checkpoint.get(KEY)
    if recipe is None:
        raise LeversConfigError("ckpt_path", str(path), "a checkpoint written by a levers training run")
    cfg = OmegaConf.create(recipe["config"])
    task = TaskSpec(**recipe["task"])
    features, targets = recipe["num_features"], recipe["num_targets"]
    module = build_module(cfg, task, features, AffineScaler(features), AffineScaler(targets))
    module.load_state_dict(checkpoint["state_dict"])
    module.eval()
    encoder = TableEncoder.from_state(recipe["encoder"]) if recipe["encoder"] else None
    return Restored(module, cfg, task, recipe["class_names"], encoder, path)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
