"""Columns -> numbers, fitted on the train split only: imputation values, missing-value indicators, categories.

Written with pandas rather than sklearn's ColumnTransformer so that the fitted state is plain lists and floats:
it travels inside the checkpoint and loads with ``torch.load(weights_only=True)``, no pickled estimator.
A category is one-hot encoded (`data.categorical_encoding=onehot`), or becomes one column holding its integer code
for the model's embedding table (`embedding`): train categories are 1..n, code 0 is reserved for a category never
seen in the train split (one-hot encodes that as all zeros, sklearn's ``handle_unknown="ignore"``). Codes are exact
in float32 up to 2^24 categories, so they travel in the same float32 matrix as every other column.
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

CATEGORICAL_ENCODINGS = ("onehot", "embedding")
UNSEEN_CODE = 0  # the embedding row of a category the train split never had
MAX_CODES = 2**24  # float32 holds every integer up to here exactly


@dataclass
class TableEncoder:
    columns: list[str]  # input columns, in order
    fill: dict[str, Any] = field(default_factory=dict)  # per-column value for a missing entry (mean/median/mode)
    categories: dict[str, list[str]] = field(default_factory=dict)  # category columns and their train categories
    impute: str = "error"
    embedded: list[str] = field(default_factory=list)  # category columns encoded as one code column each
    indicators: list[str] = field(default_factory=list)  # columns followed by a 0/1 `<name>_missing` column

    @classmethod
    def fit(
        cls,
        frame: Any,
        impute: str,
        categorical: Sequence[str] = (),
        categorical_encoding: str = "onehot",
        missing_indicators: bool = False,
    ) -> TableEncoder:
        """`frame` (a DataFrame or levers' Columns) holds the train rows only; read one column at a time."""
        if categorical_encoding not in CATEGORICAL_ENCODINGS:
            raise LeversConfigError(
                "data.categorical_encoding", categorical_encoding, f"one of {', '.join(CATEGORICAL_ENCODINGS)}"
            )
        encoder = cls(columns=list(map(str, frame.columns)), impute=impute)
        for name in frame.columns:
            column = frame[name]
            if missing_indicators and bool(column.isna().any()):
                encoder.indicators.append(name)
            if is_numeric(column) and name not in categorical:
                if impute in ("mean", "median"):
                    encoder.fill[name] = float(getattr(column.astype(float), impute)())
                    _require_train_value(name, impute, encoder.fill[name] == encoder.fill[name], frame)
                continue
            text = column.dropna().astype(str)
            encoder.categories[name] = sorted(text.unique().tolist())
            if categorical_encoding == "embedding":
                encoder.embedded.append(name)
                _require_codes_fit(name, len(encoder.categories[name]))
            if impute in ("mean", "median"):
                _require_train_value(name, impute, len(text) > 0, frame)
                encoder.fill[name] = str(text.mode().iloc[0])  # categories take the most frequent value
        return encoder

    @property
    def output_names(self) -> list[str]:
        names: list[str] = []
        for name in self.columns:
            onehot = name in self.categories and name not in self.embedded
            names += [f"{name}={c}" for c in self.categories[name]] if onehot else [name]
            names += [f"{name}_missing"] if name in self.indicators else []
        return names

    def input_layout(self) -> dict[str, list]:
        """Which output columns the model must treat apart: `categorical` [column, embedding rows] pairs (codes,
        row 0 for unseen) and `binary` 0/1 columns (one-hot levels, missing indicators) a numeric embedding skips."""
        categorical: list[list[int]] = []
        binary: list[int] = []
        start = 0
        for name in self.columns:
            width = self._width(name)
            if name in self.embedded:
                categorical.append([start, len(self.categories[name]) + 1])
            elif name in self.categories:
                binary += list(range(start, start + len(self.categories[name])))
            if name in self.indicators:
                binary.append(start + width - 1)
            start += width
        return {"categorical": categorical, "binary": binary}

    def _width(self, name: str) -> int:
        """Output columns of one input column: its levels (one-hot) or one, plus its missing indicator."""
        onehot = name in self.categories and name not in self.embedded
        return (len(self.categories[name]) if onehot else 1) + (name in self.indicators)

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
            width = self._width(name)
            if name in self.indicators:
                out[:, start + width - 1] = column.isna().to_numpy()
            encoded = out[:, start : start + width - (name in self.indicators)]
            self._encode(name, column, encoded, getattr(frame, "source", None))
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
        if name in self.embedded:
            out[:, 0] = np.where(codes >= 0, codes + 1, UNSEEN_CODE)  # pandas gives -1 for an unseen category
            return
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
    impute = getattr(data, "impute", "error")
    indicators = bool(getattr(data, "missing_indicators", False))
    if indicators and impute not in ("mean", "median"):
        raise LeversConfigError(
            "data.missing_indicators", True, f"data.impute=median|mean (with data.impute={impute} no gap is left)"
        )
    train = features.take(train_rows) if isinstance(features, Columns) else features.iloc[train_rows]
    how = getattr(data, "categorical_encoding", "onehot")
    encoder = TableEncoder.fit(train, impute, categorical, how, indicators)
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


def _require_codes_fit(name: str, levels: int) -> None:
    """Codes above 2^24 would round in the float32 matrix: such a column is an id, not a category."""
    if levels + 1 > MAX_CODES:
        raise LeversConfigError(
            "data.categorical_encoding",
            "embedding",
            f"columns with fewer than {MAX_CODES} categories: {name!r} has {levels} (drop it: 'data.drop=[{name}]')",
        )
