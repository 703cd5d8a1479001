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

from levers.config.schema.data import DataConfig
from levers.data.table import Columns, is_numeric, require_float32_range
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
    def fit(cls, frame: Any, impute: str, categorical: Sequence[str] = ()) -> TableEncoder:
        """`frame` (a DataFrame or levers' Columns) holds the train rows only; read one column at a time."""
        encoder = cls(columns=list(map(str, frame.columns)), impute=impute)
        for name in frame.columns:
            column = frame[name]
            if is_numeric(column) and name not in categorical:
                if impute in ("mean", "median"):
                    encoder.fill[name] = float(getattr(column.astype(float), impute)())
                    _require_train_value(name, impute, encoder.fill[name] == encoder.fill[name], frame)
                continue
            text = column.dropna().astype(str)
            encoder.categories[name] = sorted(text.unique().tolist())
            if impute in ("mean", "median"):
                _require_train_value(name, impute, len(text) > 0, frame)
                encoder.fill[name] = str(text.mode().iloc[0])  # categories take the most frequent value
        return encoder

    @property
    def output_names(self) -> list[str]:
        names: list[str] = []
        for name in self.columns:
            names += [f"{name}={c}" for c in self.categories[name]] if name in self.categories else [name]
        return names

    def transform(self, frame: Any) -> np.ndarray:
        """Numbers for every row of `frame`, in `output_names` order; float32 like every tensor downstream."""
        out = np.empty((len(frame), len(self.output_names)), dtype=np.float32)
        self.transform_into(frame, out)
        return out

    def transform_into(
        self, frame: Any, out: np.ndarray, order: np.ndarray | None = None, consume: bool = False
    ) -> None:
        """Write the encoded rows `order` of `frame` (all, in order, by default) into `out`, one column at a time.

        With `consume`, each column is popped from `frame` once written, so a large table's memory shrinks as the
        float32 matrix fills instead of both being held whole.
        """
        missing = [name for name in self.columns if name not in frame.columns]
        if missing:
            raise LeversConfigError("input", f"missing columns {missing}", f"the training columns {self.columns}")
        start = 0
        for name in self.columns:
            column = frame.pop(name) if consume else frame[name]
            if order is not None:
                column = column.iloc[order].reset_index(drop=True)
            width = len(self.categories[name]) if name in self.categories else 1
            self._encode(name, column, out[:, start : start + width], getattr(frame, "source", None))
            start += width

    def _encode(self, name: str, column: pd.Series, out: np.ndarray, source: str | None) -> None:
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
            require_float32_range(name, values, source)
            out[:, 0] = values
            return
        codes = pd.Categorical(column.astype(str), categories=self.categories[name]).codes
        out[:] = 0.0
        seen = codes >= 0
        out[np.flatnonzero(seen), codes[seen]] = 1.0

    def state(self) -> dict[str, Any]:
        """Plain lists, dicts, strings and floats: safe for ``torch.load(weights_only=True)``."""
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TableEncoder:
        return cls(**state)


def encode_after_split(
    features: Any, train_rows: np.ndarray, data: DataConfig, order: np.ndarray | None = None
) -> tuple[np.ndarray, TableEncoder | None]:
    """Rows `order` (default: all) as one float32 matrix; a table's columns are encoded with state fitted on the
    train rows, a numeric array is only gathered. A table's columns are consumed as they are written."""
    if isinstance(features, np.ndarray):  # only a table source gives columns
        return (features if order is None else features[order]), None
    categorical = list(getattr(data, "categorical", None) or ())
    train = features.take(train_rows) if isinstance(features, Columns) else features.iloc[train_rows]
    encoder = TableEncoder.fit(train, getattr(data, "impute", "error"), categorical)
    del train
    rows = len(features) if order is None else len(order)
    out = np.empty((rows, len(encoder.output_names)), dtype=np.float32)
    encoder.transform_into(features, out, order, consume=isinstance(features, Columns))
    return out, encoder


def _require_train_value(name: str, impute: str, present: bool, frame: Any) -> None:
    """A column with no value in the train split has nothing to fill its gaps with."""
    if not present:
        where = f" of {frame.source}" if isinstance(frame, Columns) else ""
        raise LeversConfigError(
            "data.impute",
            impute,
            f"columns with values in the train split: {name!r}{where} has none (drop it: 'data.drop=[{name}]')",
        )
