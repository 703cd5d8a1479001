"""Finding out why a network will not train (practice guide, sections 5 and 9): LR range test, overfit check,
gradient check, and the training doctor."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the doctor lives here too and must start without Lightning
    import pytorch_lightning as pl

# The run's configured Trainer, made with a diagnostic's own settings on top (keyword overrides); built by the
# composition root (levers.build.trainer_factory), so a diagnostic never reads the trainer config itself.
TrainerFactory = Callable[..., "pl.Trainer"]


def record_in_saved_config(key: str, value: object) -> None:
    """Hydra saved `.hydra/config.yaml` before the run started; put a number an `auto` diagnostic chose
    (`optimizer.lr`, `data.batch_size`) in place of `auto`, so that the saved config reruns the same run."""
    from pathlib import Path

    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    if not HydraConfig.initialized() or not HydraConfig.get().output_subdir:
        return
    hydra = HydraConfig.get()
    path = Path(hydra.runtime.output_dir) / hydra.output_subdir / "config.yaml"
    if path.exists():
        saved = OmegaConf.load(path)
        OmegaConf.update(saved, key, value)
        OmegaConf.save(saved, path)
