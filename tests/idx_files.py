"""Tiny idx files in the (Fashion-)MNIST layout, so the real reader is tested without the 30 MB package."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray) -> None:
    """0x08 = unsigned byte; sizes big-endian."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


def write_fashion_mnist(folder: Path, train_rows: int = 60, test_rows: int = 20, seed: int = 0) -> Path:
    """Class k images are bright in row band k, so even a few steps can learn something."""
    rng = np.random.default_rng(seed)
    for prefix, rows in (("train", train_rows), ("t10k", test_rows)):
        labels = np.arange(rows) % 10
        images = rng.integers(0, 60, size=(rows, 28, 28))
        for i, label in enumerate(labels):
            images[i, 2 * label : 2 * label + 3] = 250
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder
