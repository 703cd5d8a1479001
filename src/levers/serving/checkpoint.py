"""What a checkpoint must carry to rebuild its model without the training run: config, task, columns, encoding.

Stored under ``checkpoint["levers"]`` as plain dicts, lists and numbers (no pickled DictConfig), so every
checkpoint loads with ``torch.load(path, weights_only=True)``. The stored config is data: before anything is built
from it, :func:`levers.config.trust.trusted_config` checks that it names only the classes levers itself writes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from levers.build import build_module
from levers.checkpoint_io import load_checkpoint
from levers.config.schema.data import DataConfig
from levers.config.settings import typed
from levers.config.trust import trusted_config
from levers.data.encoding import TableEncoder
from levers.data.scaling import AffineScaler
from levers.data.task import TaskSpec
from levers.errors import LeversConfigError
from levers.module import LitModel

KEY = "levers"


class ServingState(pl.Callback):
    """Adds the rebuild recipe to every checkpoint Lightning writes."""

    def __init__(self, config: dict[str, Any], data: Any) -> None:
        """`config`: the run's resolved config as plain containers (what `restore` rebuilds from)."""
        self.recipe = {
            "config": config,
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
    """A checkpoint's model (eval mode, CPU) and what it was trained on: its data settings, scaling and seed."""

    module: LitModel
    data: DataConfig
    scaling_method: str
    seed: int
    task: TaskSpec
    class_names: list[Any]
    encoder: TableEncoder | None
    path: Path

    @property
    def num_features(self) -> int:
        return self.module.feature_scaler.offset.numel()

    @property
    def file_encoding(self) -> str:
        """The text encoding its table was read with: new files to predict on are read the same way."""
        return getattr(self.data, "file_encoding", None) or "utf-8"

    def feature_names(self, columns: list[str] | None = None) -> list[str]:
        """The encoded features' names: the encoder's, else `columns` (a numeric file's own), else x<i>."""
        if self.encoder is not None:
            return list(self.encoder.output_names)
        if columns is not None and len(columns) == self.num_features:
            return [str(name) for name in columns]
        return [f"x{i}" for i in range(self.num_features)]

    @property
    def target_names(self) -> list[str]:
        target = getattr(self.data, "target", None)
        if target is None:
            return [f"target_{i}" for i in range(self.task.num_targets)] if self.task.num_targets > 1 else ["target"]
        return [target] if isinstance(target, str) else list(target)


def restore(path: str | Path, key: str = "ckpt_path") -> Restored:
    """The model of a levers checkpoint, rebuilt from levers' own classes; anything else is one line naming `key`."""
    checkpoint = load_checkpoint(path, key)
    recipe = recipe_of(checkpoint, path, key)
    cfg = trusted_config(recipe["config"], path)
    task = TaskSpec(**recipe["task"])
    features, targets = recipe["num_features"], recipe["num_targets"]
    encoder = TableEncoder.from_state(recipe["encoder"]) if recipe["encoder"] else None
    layout = encoder.input_layout() if encoder is not None else None
    scalers = AffineScaler(features), AffineScaler(targets)
    if cfg.model.get("weights"):  # the checkpoint holds the trained weights; the pretrained file is not read again
        cfg.model.weights = None
        cfg.model.freeze = "none"  # what trained is of no matter to serving (and no "frozen random weights" warning)
    module = build_module(cfg, task, features, *scalers, layout=layout)
    try:
        module.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        raise LeversConfigError(
            key, str(path), f"weights that fit the config stored with them ({_first(error)})"
        ) from None
    module.eval()
    data = typed(cfg.data, DataConfig)
    return Restored(module, data, cfg.scaling.method, cfg.seed, task, recipe["class_names"], encoder, Path(path))


RECIPE_FIELDS = ("config", "task", "num_features", "num_targets", "class_names", "encoder")


def recipe_of(checkpoint: dict, path: str | Path, key: str) -> dict[str, Any]:
    """The rebuild recipe ServingState stored, with every field present."""
    recipe = checkpoint.get(KEY)
    if not isinstance(recipe, dict) or any(field not in recipe for field in RECIPE_FIELDS):
        raise LeversConfigError(key, str(path), "a checkpoint written by a levers training run (no levers recipe)")
    return recipe


def check_fits_data(
    stored_features: int, stored_task: TaskSpec, num_features: int, task: TaskSpec, path: str | Path, key: str
) -> None:
    """A checkpoint continues or serves only the data shape it was trained on."""
    if stored_features != num_features:
        allowed = f"a checkpoint of a model with {num_features} input features (this one has {stored_features})"
        raise LeversConfigError(key, str(path), allowed)
    if stored_task != task:
        allowed = f"a checkpoint of a model for {_describe(task)} (this one: {_describe(stored_task)})"
        raise LeversConfigError(key, str(path), allowed)


def _describe(task: TaskSpec) -> str:
    if task.is_classification:
        return f"{task.kind} classification with {task.num_classes} classes"
    if task.is_reconstruction:
        return f"reconstruction of {task.num_targets} features"
    return f"regression of {task.num_targets} target(s)"


def _first(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:200]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
