"""`levers predict`: a table of new rows in, one row of predictions out per input row, in the same order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from levers.data.table import read_frame
from levers.errors import LeversConfigError
from levers.serving.checkpoint import Restored
from levers.serving.predictor import build_predictor


def encode_input(restored: Restored, frame: pd.DataFrame) -> np.ndarray:
    """The saved train-split encoding for a table; a numeric array's columns in order otherwise."""
    if restored.encoder is not None:
        return restored.encoder.transform(frame)
    columns = [c for c in frame.columns if c not in restored.target_names]
    expected = restored.num_features
    if len(columns) != expected:
        raise LeversConfigError("input", f"{len(columns)} columns", f"{expected} numeric feature columns")
    return frame[columns].to_numpy(dtype=np.float32)


def predict_frame(restored: Restored, frame: pd.DataFrame) -> pd.DataFrame:
    features = torch.from_numpy(encode_input(restored, frame))
    with torch.no_grad():
        output = build_predictor(restored.module)(features).numpy()
    if not restored.task.is_classification:
        return pd.DataFrame(output, columns=[f"predicted_{name}" for name in restored.target_names])
    names = restored.class_names or list(range(output.shape[1]))
    table = pd.DataFrame(output, columns=[f"prob_{name}" for name in names])
    table.insert(0, "prediction", [names[i] for i in output.argmax(axis=1)])
    return table


def predict_file(restored: Restored, input_path: str, output_path: str) -> pd.DataFrame:
    frame = read_frame(input_path, key="input", file_encoding=restored.file_encoding)
    predictions = predict_frame(restored, frame)
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    if Path(output_path).suffix.lower() in (".parquet", ".pq"):
        predictions.to_parquet(output_path, index=False)
    else:
        predictions.to_csv(output_path, index=False)
    return predictions
