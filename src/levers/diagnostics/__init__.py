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
