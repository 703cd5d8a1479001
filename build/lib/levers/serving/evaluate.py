"""`levers eval`: the test metrics of a checkpoint, on the same seeded test split its run used."""

from __future__ import annotations

import pytorch_lightning as pl

from levers.callbacks.summary import as_floats
from levers.data.datamodule import TabularDataModule
from levers.serving.checkpoint import Restored, check_fits_data


def evaluate(restored: Restored) -> dict[str, float]:
    """Rebuilds the data stage from the saved config (same file, seed and split) and tests the saved weights."""
    cfg = restored.cfg
    data = TabularDataModule(cfg.data, cfg.scaling.method, cfg.seed)
    check_fits_data(restored.num_features, restored.task, data.num_features, data.task, restored.path, "ckpt_path")
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    results = trainer.test(restored.module, datamodule=data, verbose=False)
    return as_floats(results[0])
