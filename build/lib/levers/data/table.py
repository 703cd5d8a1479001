"""Your own data: a CSV or Parquet file read with pandas, as a `data.source` `_target_`.

The loader only selects columns and checks them; anything fitted (imputation values, one-hot categories) is
fitted later on the train split by :mod:`levers.data.encoding`, so the returned features stay a DataFrame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from levers.errors import LeversConfigError

if TYPE_CHECKING:
    import pandas as pd

IMPUTE_CHOICES = ("error", "drop", "median", "mean")
ENCODINGS = ("onehot", "error")
READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".pq": "read_parquet"}  # pandas' reader per suffix


@dataclass
class Table:
    """Features still as columns (encoded after the split) plus the target as a numpy array."""

    features: pd.DataFrame
    target: np.ndarray
    target_names: list[str]

    def __len__(self) -> int:
        return len(self.target)


def read_frame(path: str | Path, key: str = "data.path") -> pd.DataFrame:
    import pandas as pd  # only for tables: importing pandas costs ~0.35 s of every run's start-up

    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise LeversConfigError(key, str(path), f"a file ending in one of {', '.join(READERS)}")
    if not path.is_file():
        raise LeversConfigError(key, str(path), f"an existing file (looked in {Path.cwd()})")
    try:
        return getattr(pd, reader)(path)
    except ImportError as error:  # Parquet needs pyarrow: pip install 'levers[parquet]'
        raise LeversConfigError(key, str(path), f"a CSV, or install pyarrow for Parquet ({error})") from None


def load_table(
    path: str,
    target: str | Sequence[str],
    features: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    impute: str = "error",
    encoding: str = "onehot",
    categorical: Sequence[str] = (),
) -> Table:
    """Read `path`; the target is one column (or a list: multi-target regression); features default to the rest."""
    import pandas as pd  # only for tables (see read_frame)

    frame = read_frame(path)
    targets = [target] if isinstance(target, str) else list(target)
    _require_columns(frame, "data.target", targets)
    _require_columns(frame, "data.drop", list(drop))
    _require_columns(frame, "data.categorical", list(categorical))
    if features is None:
        chosen = [c for c in frame.columns if c not in targets and c not in drop]
    else:
        _require_columns(frame, "data.features", list(features))
        chosen = [c for c in features if c not in drop]
    if not chosen:
        raise LeversConfigError("data.features", list(features or []), "at least one column besides the target")
    frame = _handle_missing(frame[chosen + targets], targets, impute)
    x = frame[chosen].reset_index(drop=True)
    check_encodable(x, encoding, categorical)
    y = frame[targets[0]].to_numpy() if len(targets) == 1 else frame[targets].to_numpy(dtype=np.float32)
    if len(targets) > 1 and not all(pd.api.types.is_numeric_dtype(frame[t]) for t in targets):
        raise LeversConfigError("data.target", targets, "numeric columns when several targets are given")
    if y.dtype.kind == "O":
        y = y.astype(str)
    return Table(x, y, targets)


def check_encodable(frame: pd.DataFrame, encoding: str, categorical: Sequence[str]) -> None:
    """A text column needs an encoding: fail at load time, naming it, rather than inside torch."""
    if encoding not in ENCODINGS:
        raise LeversConfigError("data.encoding", encoding, f"one of {', '.join(ENCODINGS)}")
    text = [c for c in frame.columns if not is_numeric(frame[c]) or c in categorical]
    if text and encoding == "error":
        raise LeversConfigError(
            "data.encoding", encoding, f"onehot, since columns {text} are not numeric (or drop them with data.drop)"
        )


def is_numeric(column: pd.Series) -> bool:
    import pandas as pd  # only for tables (see read_frame)

    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _require_columns(frame: pd.DataFrame, key: str, names: list[str]) -> None:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        shown = ", ".join(map(str, frame.columns[:30]))
        raise LeversConfigError(key, missing if len(missing) > 1 else missing[0], f"columns of the file: {shown}")


def _handle_missing(frame: pd.DataFrame, targets: list[str], impute: str) -> pd.DataFrame:
    """`drop` removes incomplete rows here; `median`/`mean` leave feature gaps for the encoder's train-fitted fill."""
    if impute not in IMPUTE_CHOICES:
        raise LeversConfigError("data.impute", impute, f"one of {', '.join(IMPUTE_CHOICES)}")
    if impute == "drop":
        return frame.dropna()
    gaps = {column: int(count) for column, count in frame.isna().sum().items() if count}
    target_gaps = {c: n for c, n in gaps.items() if c in targets}
    if target_gaps:
        raise LeversConfigError("data.target", f"missing values {target_gaps}", "a complete target (or impute=drop)")
    if gaps and impute == "error":
        raise LeversConfigError("data.impute", impute, f"median, mean or drop: missing values per column {gaps}")
    return frame
