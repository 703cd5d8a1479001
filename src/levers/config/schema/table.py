"""Schema of `data=table` (and the shipped examples built on it): your own CSV or Parquet file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from levers.config.schema.checks import ChoiceOf, checked
from levers.config.schema.data import DataConfig


@dataclass
class TableDataConfig(DataConfig):
    path: str = MISSING  # a .csv or .parquet file, relative to the directory you start from
    target: Any = MISSING  # a column name, or a list of names (multi-target regression)
    features: list[str] | None = None  # the input columns; null = every column except the target and `drop`
    drop: list[str] = field(default_factory=list)  # columns never used as inputs (ids, leaks of the target)
    impute: str = "error"  # error | drop | median | mean: missing values, filled with train-split statistics
    encoding: str = "onehot"  # onehot | error: text columns one-hot encoded with the train split's categories
    categorical: list[str] = field(default_factory=list)  # numeric columns to encode as categories too (codes, ids)
    # onehot: one 0/1 column per train category | embedding: one integer-code column, learned by an nn.Embedding
    # of min(50, (n+1)//2) dims (n = categories + 1: row 0 is for categories unseen in the train split)
    categorical_encoding: str = checked("onehot", ChoiceOf("levers.data.encoding", "CATEGORICAL_ENCODINGS"))
    missing_indicators: bool = False  # a 0/1 `<column>_missing` input next to each column with gaps (with impute)
    file_encoding: str = "utf-8"  # the CSV's text encoding (a Python codec name: utf-8, latin-1, cp1252...)


OPTIONS: dict[str, dict[str, Any]] = {"data": {"table": TableDataConfig}}
