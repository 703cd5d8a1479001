"""`levers predict`: a table of new rows in, one row of predictions out per input row, in the same order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from levers.config.schema.serving import EMITS
from levers.data.table import read_frame
from levers.errors import LeversConfigError
from levers.serving.checkpoint import Restored
from levers.serving.predictor import build_encoder, build_predictor


def feature_columns(restored: Restored, frame: pd.DataFrame) -> list[str]:
    """A numeric array's feature columns in `frame`: every one but the targets, in order."""
    return [c for c in frame.columns if c not in restored.target_names]


def encode_input(restored: Restored, frame: pd.DataFrame) -> np.ndarray:
    """The saved train-split encoding for a table; a numeric array's columns in order otherwise."""
    if restored.encoder is not None:
        return restored.encoder.transform(frame)
    columns = feature_columns(restored, frame)
    expected = restored.num_features
    if len(columns) != expected:
        raise LeversConfigError("input", f"{len(columns)} columns", f"{expected} numeric feature columns")
    return frame[columns].to_numpy(dtype=np.float32)


def predict_frame(restored: Restored, frame: pd.DataFrame, emit: str = "predictions") -> pd.DataFrame:
    """`emit=predictions`: probabilities and the class, targets, or reconstructed features, in their own units;
    `emit=codes`: an autoencoder's code (code_<i>), the encoder applied to the scaled features."""
    if emit not in EMITS:
        raise LeversConfigError("emit", emit, f"one of {', '.join(EMITS)}")
    features = torch.from_numpy(encode_input(restored, frame))
    if emit == "codes":
        return pd.DataFrame(codes_of(restored, features)).add_prefix("code_")
    with torch.no_grad():
        output = build_predictor(restored.module)(features).numpy()
    if restored.task.is_reconstruction:
        names = restored.feature_names(feature_columns(restored, frame))
        return pd.DataFrame(output, columns=[f"reconstructed_{name}" for name in names])
    if not restored.task.is_classification:
        return pd.DataFrame(output, columns=[f"predicted_{name}" for name in restored.target_names])
    names = restored.class_names or list(range(output.shape[1]))
    table = pd.DataFrame(output, columns=[f"prob_{name}" for name in names])
    table.insert(0, "prediction", [names[i] for i in output.argmax(axis=1)])
    return table


def codes_of(restored: Restored, features: torch.Tensor) -> np.ndarray:
    """The code of every row (rows, code_size): only an autoencoder (data.task=reconstruction) has one."""
    if not restored.task.is_reconstruction:
        raise LeversConfigError(
            "emit", "codes", f"predictions: codes need a model=autoencoder checkpoint ({restored.path})"
        )
    with torch.no_grad():
        return build_encoder(restored.module)(features).numpy()


def predict_file(restored: Restored, input_path: str, output_path: str, emit: str = "predictions") -> pd.DataFrame:
    frame = read_frame(input_path, key="input", file_encoding=restored.file_encoding)
    predictions = predict_frame(restored, frame, emit)
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    if Path(output_path).suffix.lower() in (".parquet", ".pq"):
        predictions.to_parquet(output_path, index=False)
    else:
        predictions.to_csv(output_path, index=False)
    return predictions
