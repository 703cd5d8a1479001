"""`levers eval`: the test metrics of a checkpoint, on its run's seeded test split or on another labelled file.

Two sources of rows:
- the checkpoint's own data set, split again with the saved seed (so the same test rows; `data.<key>` overrides,
  e.g. `data.test_fraction`, change how it is split);
- `data.path=<file>` with the training columns: every row of that file, encoded and scaled with the checkpoint's own
  fitted encoder and scalers (nothing is refitted on the new rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

from levers.callbacks.summary import as_floats
from levers.config.schema.data import DataConfig
from levers.config.settings import data_settings
from levers.data.datamodule import TabularDataModule
from levers.data.table import read_frame
from levers.errors import LeversConfigError
from levers.serving.checkpoint import Restored, check_fits_data
from levers.serving.predict import encode_input

NEW_FILE_KEY = "path"


def evaluate(restored: Restored, data: Mapping[str, Any] | None = None, trainer: Mapping[str, Any] | None = None):
    """Test metrics of the restored weights; `data` holds the `data.<key>` overrides that are set (not null)."""
    chosen = {key: value for key, value in (data or {}).items() if value is not None}
    check_data_keys(restored.data, chosen)
    tester = pl.Trainer(
        **{"accelerator": "cpu", "devices": 1, **(trainer or {})},
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    if NEW_FILE_KEY in chosen:
        rows = DataLoader(labelled_file(restored, chosen), batch_size=restored.data.eval_batch_size)
        results = tester.test(restored.module, dataloaders=rows, verbose=False)
    else:
        data_for_eval = data_config(restored.data, chosen)
        datamodule = TabularDataModule(data_for_eval, restored.scaling_method, restored.seed)
        check_fits_data(
            restored.num_features, restored.task, datamodule.num_features, datamodule.task, restored.path, "ckpt_path"
        )
        results = tester.test(restored.module, datamodule=datamodule, verbose=False)
    return as_floats(results[0])


def data_config(stored: DataConfig, chosen: Mapping[str, Any]) -> DataConfig:
    """The checkpoint's data settings with this command's overrides, type-checked by the schema; a table's source
    gets the same values (its YAML links them with `${..key}`, which the stored, resolved config no longer does)."""
    source = dict(stored.source)
    source.update({key: value for key, value in chosen.items() if key in source})
    merged = OmegaConf.merge(OmegaConf.structured(replace(stored, source=source)), dict(chosen))
    return data_settings(merged)


def check_data_keys(stored: DataConfig, chosen: Mapping[str, Any]) -> None:
    known = sorted(field.name for field in fields(stored))
    for key, value in chosen.items():
        if key not in known:
            allowed = f"a data key of this checkpoint's data set ({stored.name}): {', '.join(known)}"
            raise LeversConfigError(f"data.{key}", value, allowed)


def labelled_file(restored: Restored, chosen: Mapping[str, Any]) -> TensorDataset:
    """Every row of `data.path`, as the training rows were: the saved encoding, scaling and class order."""
    path = str(chosen[NEW_FILE_KEY])
    others = sorted(set(chosen) - {NEW_FILE_KEY})
    if others:
        raise LeversConfigError(f"data.{others[0]}", chosen[others[0]], "unset with data.path (every row is tested)")
    frame = read_frame(path, key="data.path", file_encoding=restored.file_encoding)
    reconstructing = restored.task.is_reconstruction  # its target is its input: no label column needed
    missing = [name for name in restored.target_names if name not in frame.columns]
    if missing and not reconstructing:
        raise LeversConfigError("data.path", path, f"a table with the target column(s) {restored.target_names}")
    module = restored.module
    features = module.feature_scaler(torch.from_numpy(encode_input(restored, frame)))
    if reconstructing:
        return TensorDataset(features, features)
    if not restored.task.is_classification:
        values = frame[restored.target_names].to_numpy(dtype=np.float32)
        return TensorDataset(features, module.target_scaler(torch.from_numpy(values)))
    return TensorDataset(features, _class_indices(restored, frame[restored.target_names[0]].tolist(), path))


def _class_indices(restored: Restored, labels: list[Any], path: str) -> torch.Tensor:
    index = {str(name): i for i, name in enumerate(restored.class_names)}
    unknown = sorted({str(label) for label in labels if str(label) not in index})
    if unknown:
        allowed = f"labels among the checkpoint's classes {list(index)} (found {unknown[:5]})"
        raise LeversConfigError("data.path", path, allowed)
    return torch.tensor([index[str(label)] for label in labels], dtype=torch.long)
