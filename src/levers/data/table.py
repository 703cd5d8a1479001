"""Your own data: a CSV or Parquet file read with pyarrow, as a `data.source` `_target_`.

The loader only selects columns and checks them; anything fitted (imputation values, one-hot categories) is
fitted later on the train split by :mod:`levers.data.encoding`. The features stay Arrow columns (:class:`Columns`)
until then, each turned into numbers on its own: a large table is never one float64 frame plus its copies.
Columns come out as pandas would read them (`pandas.read_csv`'s missing markers and booleans, text for dates),
so a checkpoint's categories match what `levers predict` reads later.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from levers.errors import LeversConfigError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

IMPUTE_CHOICES = ("error", "drop", "median", "mean")
ENCODINGS = ("onehot", "error")
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# pandas.read_csv's default missing-value markers and booleans, so that both readers agree on every cell
NA_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
             "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]  # fmt: skip
TRUE_VALUES, FALSE_VALUES = ["True", "TRUE", "true"], ["False", "FALSE", "false"]
SHOWN_COLUMNS = 30
STREAM_BLOCK = 1 << 20  # bytes of CSV parsed at a time when streaming: small blocks, small transient buffers
FLOAT32_MAX = float(np.finfo(np.float32).max)  # larger finite values become inf in the float32 tensors
DenseRule = Callable[[str], "np.dtype | type | None"]


class Columns:
    """Named Arrow columns of one file, plus the rows kept so far (None: all); a column becomes numbers on demand.

    `take` only composes row indices; `pop` hands a column over and forgets it, so that its memory is freed as
    soon as it is encoded. Indexing by name gives a pandas Series, as `pandas.read_csv` would have typed it.
    """

    def __init__(self, arrays: dict[str, Any], source: str, rows: np.ndarray | None = None) -> None:
        self.arrays, self.source, self.rows = arrays, source, rows
        self._length = len(rows) if rows is not None else (len(next(iter(arrays.values()))) if arrays else 0)

    @property
    def columns(self) -> list[str]:
        return list(self.arrays)

    def __len__(self) -> int:
        return self._length

    def __contains__(self, name: object) -> bool:
        return name in self.arrays

    def __iter__(self) -> Iterator[str]:
        return iter(self.arrays)

    def __getitem__(self, name: str) -> pd.Series:
        return _series(self.arrays[name], self.rows)

    def pop(self, name: str) -> pd.Series:
        """The column, removed from here (its memory goes once the caller drops the Series)."""
        release_freed_memory()  # the column popped before this one, and its temporaries
        return _series(self.arrays.pop(name), self.rows)

    def take(self, rows: np.ndarray) -> Columns:
        """These rows (positions among the current ones), without copying any column (only the name -> column map,
        so that popping from one never empties the other)."""
        rows = np.asarray(rows, dtype=np.int64)
        return Columns(dict(self.arrays), self.source, rows if self.rows is None else self.rows[rows])

    def select(self, names: Sequence[str]) -> Columns:
        return Columns({name: self.arrays[name] for name in names}, self.source, self.rows)

    def missing_counts(self) -> dict[str, int]:
        """Missing cells per column that has any, in the kept rows (NaN counts as missing, as in pandas)."""
        counts = {name: _missing(array, self.rows) for name, array in self.arrays.items()}
        return {name: count for name, count in counts.items() if count}

    def is_numeric(self, name: str) -> bool:
        """As pandas would type the whole file's column: numbers, an empty column, or booleans without gaps."""
        import pyarrow as pa

        array = self.arrays[name]
        if isinstance(array, np.ndarray):  # a dense float column read for the tensors
            return True
        kind = array.type
        if pa.types.is_boolean(kind):
            return array.null_count == 0
        return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd  # only for tables: importing pandas costs ~0.35 s of every run's start-up

        return pd.DataFrame({name: self[name] for name in self.arrays})


@dataclass
class Table:
    """Features still as columns (encoded after the split) plus the target as a numpy array."""

    features: Columns
    target: np.ndarray
    target_names: list[str]

    def __len__(self) -> int:
        return len(self.target)


def read_columns(
    path: str | Path, key: str = "data.path", file_encoding: str = "utf-8", dense: DenseRule | None = None
) -> Columns:
    """Every column of a CSV or Parquet file, checked: a header, unique names, at least one row, decodable text.

    `dense(name)` gives a numpy dtype for the numeric feature columns of a CSV that go straight into the tensors:
    those are streamed into one contiguous array each (float32 where nothing is fitted on their values), so a
    large file is never held as float64 Arrow blocks, and each column's memory goes back when it is encoded.
    """
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise LeversConfigError(key, str(path), f"a file ending in one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise LeversConfigError(key, str(path), f"an existing file (looked in {Path.cwd()})")
    if kind == "csv" and dense is not None:
        streamed = _stream_csv(path, key, file_encoding, dense)
        if streamed is not None:
            return streamed
    table = _read_csv(path, key, file_encoding) if kind == "csv" else _read_parquet(path, key)
    names = table.column_names
    _check_names(path, key, names, file_encoding)
    if table.num_rows == 0:
        raise LeversConfigError(key, str(path), "a table with at least one data row (this file has only a header)")
    arrays = {name: table.column(i) for i, name in enumerate(names)}
    del table  # the columns hold the only references now: each is freed when popped
    return Columns(arrays, str(path))


def read_frame(path: str | Path, key: str = "data.path", file_encoding: str = "utf-8") -> pd.DataFrame:
    """The file as a pandas DataFrame, typed as for training (levers predict reads its input with this)."""
    return read_columns(path, key, file_encoding).to_frame()


def load_table(
    path: str,
    target: str | Sequence[str],
    features: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    impute: str = "error",
    encoding: str = "onehot",
    categorical: Sequence[str] = (),
    file_encoding: str = "utf-8",
) -> Table:
    """Read `path`; the target is one column (or a list: multi-target regression); features default to the rest."""
    targets = [target] if isinstance(target, str) else list(target)
    columns = read_columns(
        path, file_encoding=file_encoding, dense=_dense_rule(targets, features, drop, impute, categorical)
    )
    _require_columns(columns, "data.target", targets)
    _require_columns(columns, "data.drop", list(drop))
    _require_columns(columns, "data.categorical", list(categorical))
    if features is None:
        chosen = [c for c in columns.columns if c not in targets and c not in drop]
    else:
        _require_columns(columns, "data.features", list(features))
        chosen = [c for c in features if c not in drop]
    if not chosen:
        raise LeversConfigError("data.features", list(features or []), "at least one column besides the target")
    columns = _handle_missing(columns.select(list(dict.fromkeys(chosen + targets))), targets, impute)
    check_encodable(columns.select(chosen), encoding, categorical)
    y = _target(columns, targets)
    return Table(columns.select(chosen), y, targets)


def check_encodable(frame: Any, encoding: str, categorical: Sequence[str]) -> None:
    """A text column needs an encoding: fail at load time, naming it, rather than inside torch."""
    if encoding not in ENCODINGS:
        raise LeversConfigError("data.encoding", encoding, f"one of {', '.join(ENCODINGS)}")
    if encoding == "onehot":
        return
    text = [c for c in frame.columns if c in categorical or not _column_is_numeric(frame, c)]
    if text:
        raise LeversConfigError(
            "data.encoding", encoding, f"onehot, since columns {text} are not numeric (or drop them with data.drop)"
        )


def is_numeric(column: pd.Series) -> bool:
    import pandas as pd  # only for tables (see Columns.to_frame)

    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _column_is_numeric(frame: Any, name: str) -> bool:
    return frame.is_numeric(name) if isinstance(frame, Columns) else is_numeric(frame[name])


def _dense_rule(
    targets: list[str], features: Sequence[str] | None, drop: Sequence[str], impute: str, categorical: Sequence[str]
) -> DenseRule:
    """Numeric feature columns are streamed into numpy: float32 when no statistic is fitted on their values (the
    same numbers the tensors get), float64 when mean/median imputation needs the exact values."""
    dtype = np.float64 if impute in ("mean", "median") else np.float32
    skip = {*targets, *drop, *categorical}

    def rule(name: str) -> type | None:
        return dtype if name not in skip and (features is None or name in features) else None

    return rule


def _series(array: Any, rows: np.ndarray | None) -> pd.Series:
    """One column as pandas types it: ints with gaps become float64 with NaN, an empty column float64."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(array, np.ndarray):
        return pd.Series(array if rows is None else array[rows], copy=False)

    if pa.types.is_null(array.type):
        array = array.cast(pa.float64())
    series = array.to_pandas()
    return series if rows is None else series.iloc[rows].reset_index(drop=True)


def _missing(array: Any, rows: np.ndarray | None) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, np.ndarray):
        return int(np.isnan(array if rows is None else array[rows]).sum())

    if rows is not None:
        array = array.take(pa.array(rows))
    count = array.null_count
    if pa.types.is_floating(array.type):
        count += pc.sum(pc.is_nan(array)).as_py() or 0
    return int(count)


def _read_csv(path: Path, key: str, file_encoding: str) -> pa.Table:
    """pyarrow's reader, set to pandas' conventions, inferring types over the whole file; columns it would parse
    as dates or times stay text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    text_types: dict[str, pa.DataType] = {}
    while True:  # a second pass only when a column was typed as a date or time: read it as text
        read, convert = _csv_options(file_encoding, 16 << 20, text_types)
        try:
            table = pacsv.read_csv(path, read_options=read, convert_options=convert)
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            raise _unreadable(path, key, file_encoding, error) from None
        if any(pa.types.is_binary(field.type) for field in table.schema):  # text not valid in file_encoding
            raise _encoding_error(path, file_encoding)
        dated = {f.name: pa.string() for f in table.schema if _is_temporal(f.type) and f.name not in text_types}
        if not dated:
            return table
        text_types.update(dated)
        del table


def _csv_options(file_encoding: str, block_size: int, text_types: dict | None = None) -> tuple[Any, Any]:
    import codecs

    import pyarrow.csv as pacsv

    try:
        codecs.lookup(file_encoding)
    except LookupError:
        allowed = "a Python codec name, e.g. utf-8, latin-1"
        raise LeversConfigError("data.file_encoding", file_encoding, allowed) from None
    read = pacsv.ReadOptions(encoding=file_encoding, block_size=block_size)
    convert = pacsv.ConvertOptions(
        null_values=NA_VALUES, true_values=TRUE_VALUES, false_values=FALSE_VALUES, strings_can_be_null=True,
        column_types=text_types or {},
    )  # fmt: skip
    return read, convert


def _stream_csv(path: Path, key: str, file_encoding: str, dense: DenseRule) -> Columns | None:
    """Read block by block, numeric feature columns straight into numpy; None when the file needs the full reader
    (a column typed as a date, or a later block that does not fit the types inferred from the first)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read, convert = _csv_options(file_encoding, STREAM_BLOCK)
    try:
        reader = pacsv.open_csv(path, read_options=read, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        raise _unreadable(path, key, file_encoding, error) from None
    fields = list(reader.schema)
    _check_names(path, key, [f.name for f in fields], file_encoding)
    if any(_is_temporal(f.type) or pa.types.is_binary(f.type) or pa.types.is_null(f.type) for f in fields):
        return None
    capacity = _count_lines(path)  # at least the number of rows; untouched pages of the slack are never resident
    numeric = {f.name for f in fields if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)}
    arrays: dict[str, Any] = {}
    for f in fields:
        dtype = dense(f.name) if f.name in numeric else None
        arrays[f.name] = np.empty(capacity, dtype) if dtype is not None else []
    filled = 0
    try:
        for batch in reader:
            rows = batch.num_rows
            for f, column in zip(fields, batch.columns, strict=True):
                target = arrays[f.name]
                if isinstance(target, list):
                    target.append(column)
                    continue
                values = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
                if target.dtype == np.float32:
                    require_float32_range(f.name, values, str(path))
                target[filled : filled + rows] = values
            filled += rows
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None  # types beyond the first block: the full reader infers them over the whole file
    if filled == 0:
        raise LeversConfigError(key, str(path), "a table with at least one data row (this file has only a header)")
    columns = {
        f.name: arrays[f.name][:filled] if isinstance(arrays[f.name], np.ndarray)
        else pa.chunked_array(arrays[f.name], type=f.type)
        for f in fields
    }  # fmt: skip
    pa.default_memory_pool().release_unused()
    release_freed_memory()
    return Columns(columns, str(path))


def release_freed_memory() -> None:
    """Hand memory freed by malloc back to the system now (glibc keeps freed blocks of a few MB in its heap):
    a large table's columns are freed one by one while the tensors fill, and the peak is what both hold."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _glibc() -> Any:
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc (macOS, musl...): nothing to trim
        return None


def _count_lines(path: Path) -> int:
    """At least the rows of the file, whichever line ending it uses: LF, CRLF, or a bare CR (pyarrow splits on all)."""
    newlines = returns = 0
    with open(path, "rb") as stream:
        while block := stream.read(16 << 20):
            newlines, returns = newlines + block.count(b"\n"), returns + block.count(b"\r")
    return max(newlines, returns) + 1


def require_float32_range(name: str, values: np.ndarray, source: str | None) -> None:
    """Finite in float64 but beyond float32's range would be inf in the tensors: a data error, named here."""
    beyond = np.abs(values) > FLOAT32_MAX
    if beyond.any():
        where = f" of {source}" if source else ""
        first = values[np.flatnonzero(beyond)[0]]
        raise LeversConfigError(
            "data.features",
            name,
            f"values within float32's range (|x| <= {FLOAT32_MAX:.3g}): column {name!r}{where} holds {first:.6g}; "
            "rescale it or drop it (data.drop)",
        )


def _read_parquet(path: Path, key: str) -> pa.Table:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:  # pyarrow is a dependency of levers; a broken install still gets one line
        raise LeversConfigError(key, str(path), f"a CSV, or install pyarrow for Parquet ({error})") from None
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise LeversConfigError(
            key, str(path), f"a Parquet file (this one is not: {_first_line(error)}); a CSV file must end in .csv"
        ) from None
    index = (table.schema.pandas_metadata or {}).get("index_columns", [])  # a saved pandas index is no feature
    return table.drop_columns([name for name in index if isinstance(name, str)])


def _is_temporal(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_temporal(kind)


def _unreadable(path: Path, key: str, file_encoding: str, error: Exception) -> LeversConfigError:
    message = _first_line(error)
    if isinstance(error, UnicodeDecodeError) or "UTF8" in message or "decode" in message:
        return _encoding_error(path, file_encoding)
    if "Empty CSV file" in message:
        return LeversConfigError(key, str(path), "a CSV with a header row and data rows (this file is empty)")
    return LeversConfigError(key, str(path), f"a well-formed CSV ({message})")


def _encoding_error(path: Path, file_encoding: str) -> LeversConfigError:
    return LeversConfigError(
        "data.file_encoding",
        file_encoding,
        f"the text encoding of {path}, which is not valid {file_encoding}: set it, e.g. data.file_encoding=latin-1",
    )


def _check_names(path: Path, key: str, names: list[str], file_encoding: str) -> None:
    if any("\ufffd" in name for name in names):  # pyarrow replaces undecodable header bytes
        raise _encoding_error(path, file_encoding)
    repeated = {name: count for name, count in Counter(names).items() if count > 1}
    if repeated:
        shown = ", ".join(f"{name!r} {count} times" for name, count in repeated.items())
        raise LeversConfigError(key, str(path), f"a header with unique column names (it has {shown})")


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _require_columns(columns: Columns, key: str, names: list[str]) -> None:
    missing = [name for name in names if name not in columns]
    if missing:
        shown = ", ".join(map(str, columns.columns[:SHOWN_COLUMNS]))
        raise LeversConfigError(key, missing if len(missing) > 1 else missing[0], f"columns of the file: {shown}")


def _target(columns: Columns, targets: list[str]) -> np.ndarray:
    """One column as it is (labels or numbers); several as a float32 matrix (multi-target regression)."""
    if len(targets) == 1:
        y = columns[targets[0]].to_numpy()
        return y.astype(str) if y.dtype.kind == "O" else y
    if not all(columns.is_numeric(t) for t in targets):
        raise LeversConfigError("data.target", targets, "numeric columns when several targets are given")
    y = np.empty((len(columns), len(targets)), dtype=np.float32)
    for j, name in enumerate(targets):
        y[:, j] = columns[name].to_numpy(dtype=np.float64)
    return y


def _handle_missing(columns: Columns, targets: list[str], impute: str) -> Columns:
    """`drop` removes incomplete rows here; `median`/`mean` leave feature gaps for the encoder's train-fitted fill."""
    if impute not in IMPUTE_CHOICES:
        raise LeversConfigError("data.impute", impute, f"one of {', '.join(IMPUTE_CHOICES)}")
    gaps = columns.missing_counts()
    if impute == "drop":
        if not gaps:
            return columns
        complete = np.ones(len(columns), dtype=bool)
        for name in gaps:
            complete &= columns[name].notna().to_numpy()
        if not complete.any():
            raise LeversConfigError(
                "data.impute", impute, f"rows to keep: every row of {columns.source} misses a value ({gaps})"
            )
        return columns.take(np.flatnonzero(complete))
    target_gaps = {c: n for c, n in gaps.items() if c in targets}
    if target_gaps:
        raise LeversConfigError("data.target", f"missing values {target_gaps}", "a complete target (or impute=drop)")
    if gaps and impute == "error":
        raise LeversConfigError("data.impute", impute, f"median, mean or drop: missing values per column {gaps}")
    return columns
