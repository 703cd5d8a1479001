"""Schemas of the commands that use a trained checkpoint: `levers eval | predict | export` (conf/<command>.yaml).

Each is a Hydra app of its own, with the override grammar of training: `levers eval ckpt_path=... data.path=...
trainer.accelerator=gpu hydra.run.dir=...`. `data.<key>` overrides the checkpoint's own data settings for this
command only; a key left null keeps the checkpoint's value.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from levers.config.schema.table import TableDataConfig
from levers.config.schema.top import PathsConfig

# Every data key a checkpoint's config may carry (array sets and tables), each null: "as the checkpoint says".
DataOverrides = dataclasses.make_dataclass(
    "DataOverrides",
    [(f.name, Any, None) for f in dataclasses.fields(TableDataConfig) if f.name not in ("name", "source")],
)
DataOverrides.__module__ = __name__  # pickles by name: Hydra's config store travels to a DDP job's ranks


EMITS = ("predictions", "codes")  # what `levers predict` writes (levers.serving.predict)


@dataclass
class ServingTrainerConfig:
    accelerator: str = "auto"  # cpu | gpu | auto
    devices: Any = 1
    precision: Any = "32-true"


@dataclass
class ServingConfig:
    ckpt_path: str = MISSING  # a checkpoint of a levers run (checkpoints/*.ckpt)
    paths: PathsConfig = field(default_factory=PathsConfig)


@dataclass
class EvalConfig(ServingConfig):
    data: Any = field(default_factory=DataOverrides)
    trainer: ServingTrainerConfig = field(default_factory=ServingTrainerConfig)


@dataclass
class PredictConfig(ServingConfig):
    input: str = MISSING  # a CSV or Parquet table with the training columns
    output: str = "${paths.output_dir}/predictions.csv"  # .csv or .parquet
    # predictions: classes, targets, or an autoencoder's reconstructed features (reconstructed_<feature>, in their
    # own units) | codes: an autoencoder's code (code_0..code_<k-1>)
    emit: str = "predictions"  # one of EMITS, checked by levers.serving.predict


@dataclass
class ExportConfig(ServingConfig):
    format: str = "torchscript"  # torchscript | onnx
    output: str | None = None  # default: beside the checkpoint, e.g. epoch_012.pt


SCHEMAS: dict[str, Any] = {"eval": EvalConfig, "predict": PredictConfig, "export": ExportConfig}
