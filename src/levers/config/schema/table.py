"""Schema of `data=table` (and the shipped examples built on it): your own CSV or Parquet file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from levers.config.schema.data import DataConfig


@dataclass
class TableDataConfig(DataConfig):
    path: str = MISSING  # a .csv or .parquet file, relative to the directory you start from
    target: Any = MISSING  # a column name, or a list of names (multi-target regression)
    features: list[str] | None = None  # the input columns; null = every column except the target and `drop`
    drop: list[str] = field(default_factory=list)  # columns never used as inputs (ids, leaks of the target)
    impute: str = "error"  # error | drop | median | mean: missing values, filled with train-split statistics
    encoding: str = "onehot"  # onehot | error: text columns one-hot encoded with the train split's categories
    categorical: list[str] = field(default_factory=list)  # numeric columns to one-hot encode too (codes, ids)
    file_encoding: str = "utf-8"  # the CSV's text encoding (a Python codec name: utf-8, latin-1, cp1252...)


OPTIONS: dict[str, dict[str, Any]] = {"data": {"table": TableDataConfig}}
