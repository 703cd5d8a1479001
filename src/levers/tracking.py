"""What every tracker gets beyond metrics: flat hyperparameters at the start, a clean finish at the end.

Hyperparameters are one flat mapping keyed by full dotted names (`optimizer.lr`, `model.depth`): Lightning's
loggers would flatten a nested dict with `/`; flattening first keeps the names users type on the command line,
identical in every tracker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.loggers import Logger, WandbLogger


def flat_hparams(config: Mapping[str, Any]) -> dict[str, Any]:
    """The resolved config (plain containers) as `group.key` -> value, which every tracker can show."""
    flat = _flatten(dict(config), "")
    return {key: value for key, value in flat.items() if value != "???"}  # loggers left unset


def _flatten(node: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {prefix[:-1]: str(node) if isinstance(node, list) else node}
    flat: dict[str, Any] = {}
    for key, value in node.items():
        flat.update(_flatten(value, f"{prefix}{key}."))
    return flat


def log_hyperparams(loggers: Iterable[Logger], config: Mapping[str, Any]) -> None:
    params = flat_hparams(config)
    for logger in loggers:
        logger.log_hyperparams(params)


def finish_trackers(loggers: Iterable[Logger], failed: bool = False) -> None:
    """Lightning leaves a W&B run open until the interpreter exits: close it, so its files are complete now and
    the next job of a multirun starts a run of its own (also after a failure, marked as failed)."""
    if any(isinstance(logger, WandbLogger) for logger in loggers):
        import wandb  # only when a W&B logger was chosen: a heavy import

        if wandb.run is not None:
            wandb.finish(exit_code=1 if failed else 0)


class FinishTrackersOnFailure(pl.Callback):
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        finish_trackers(trainer.loggers, failed=True)
