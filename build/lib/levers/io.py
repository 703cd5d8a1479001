"""Atomic file writes: a kill at any moment leaves either the old file or the new one, never half of one.

Atomic against a killed process (the kernel keeps what was written); durable against a machine crash only when
asked (`durable=True` adds an fsync, which costs milliseconds: too slow for files rewritten every epoch).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_write(path: str | Path, mode: str = "w", durable: bool = False, **open_kwargs: Any) -> Iterator[IO]:
    """Write a temporary file beside `path`, then rename it over `path` (atomic on POSIX); `durable`: fsync first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = _create_beside(path)
    try:
        with os.fdopen(handle, mode, **open_kwargs) as file:
            yield file
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _create_beside(path: Path) -> tuple[int, str]:
    """A new, unique temporary file in `path`'s folder, created with mode 0o666 so that the kernel applies the
    user's umask (as for any file Python opens); tempfile.mkstemp would make it 0o600 whatever the umask says."""
    while True:
        temp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temp
        except FileExistsError:
            continue


def write_json_atomic(path: str | Path, data: Any, durable: bool = False) -> None:
    with atomic_write(path, durable=durable) as file:
        json.dump(data, file, indent=2, default=str)
