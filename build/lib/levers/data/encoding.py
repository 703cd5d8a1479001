"""Columns -> numbers, fitted on the train split only: imputation values and one-hot categories.

Written with pandas rather than sklearn's ColumnTransformer so that the fitted state is plain lists and floats:
it travels inside the checkpoint and loads with ``torch.load(weights_only=True)``, no pickled estimator.
A category never seen in the train split encodes as all zeros (sklearn's ``handle_unknown="ignore"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from levers.data.table import is_numeric
from levers.errors import LeversConfigError

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class TableEncoder:
    columns: list[str]  # input columns, in order
    fill: dict[str, Any] = field(default_factory=dict)  # per-column value for a missing entry (mean/median/mode)
    categories: dict[str, list[str]] = field(default_factory=dict)  # one-hot columns and their train categories
    impute: str = "error"

    @classmethod
    def fit(cls, frame: pd.DataFrame, impute: str, categorical: Sequence[str] = ()) -> TableEncoder:
        """`frame` holds the train rows only."""
        encoder = cls(columns=list(map(str, frame.columns)), impute=impute)
        for name in frame.columns:
            column = frame[name]
            if is_numeric(column) and name not in categorical:
                if impute in ("mean", "median"):
                    encoder.fill[name] = float(getattr(column.astype(float), impute)())
                continue
            text = column.dropna().astype(str)
            encoder.categories[name] = sorted(text.unique().tolist())
            if impute in ("mean", "median") and len(text):
                encoder.fill[name] = str(text.mode().iloc[0])  # categories take the most frequent value
        return encoder

    @property
    def output_names(self) -> list[str]:
        names: list[str] = []
        for name in self.columns:
            names += [f"{name}={c}" for c in self.categories[name]] if name in self.categories else [name]
        return names

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Numbers for every row of `frame`, in `output_names` order; float32 like every tensor downstream."""
        missing = [name for name in self.columns if name not in frame.columns]
        if missing:
            raise LeversConfigError("input", f"missing columns {missing}", f"the training columns {self.columns}")
        parts = [self._encode(name, frame[name]) for name in self.columns]
        return np.concatenate(parts, axis=1).astype(np.float32) if parts else np.zeros((len(frame), 0), np.float32)

    def _encode(self, name: str, column: pd.Series) -> np.ndarray:
        import pandas as pd  # only for tables: importing pandas costs ~0.35 s of every run's start-up

        if name in self.fill:
            column = column.fillna(self.fill[name])
        if column.isna().any():
            raise LeversConfigError(
                f"column {name}", f"{int(column.isna().sum())} missing values", "complete rows (data.impute was error)"
            )
        if name not in self.categories:
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
            if not np.isfinite(values).all():
                raise LeversConfigError(f"column {name}", "non-numeric or infinite values", "finite numbers")
            return values[:, None]
        codes = pd.Categorical(column.astype(str), categories=self.categories[name]).codes
        onehot = np.zeros((len(column), len(self.categories[name])))
        seen = codes >= 0
        onehot[np.flatnonzero(seen), codes[seen]] = 1.0
        return onehot

    def state(self) -> dict[str, Any]:
        """Plain lists, dicts, strings and floats: safe for ``torch.load(weights_only=True)``."""
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TableEncoder:
        return cls(**state)


def encode_after_split(features: Any, train_rows: np.ndarray, data: Any) -> tuple[np.ndarray, TableEncoder | None]:
    """A table's columns are encoded with state fitted on the train rows; a numeric array passes through."""
    if isinstance(features, np.ndarray):  # only a table source gives a DataFrame
        return features, None
    categorical = list(data.get("categorical") or ())
    encoder = TableEncoder.fit(features.iloc[train_rows], data.get("impute", "error"), categorical)
    return encoder.transform(features), encoder
