"""Atomic file writes: a kill at any moment leaves either the old file or the new one, never half of one.

Atomic against a killed process (the kernel keeps what was written); durable against a machine crash only when
asked (`durable=True` adds an fsync, which costs milliseconds: too slow for files rewritten every epoch).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_write(path: str | Path, mode: str = "w", durable: bool = False, **open_kwargs: Any) -> Iterator[IO]:
    """Write a temporary file beside `path`, then rename it over `path` (atomic on POSIX); `durable`: fsync first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, mode, **open_kwargs) as file:
            yield file
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, data: Any, durable: bool = False) -> None:
    with atomic_write(path, durable=durable) as file:
        json.dump(data, file, indent=2, default=str)
