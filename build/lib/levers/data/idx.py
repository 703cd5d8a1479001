"""Reading the idx files of (Fashion-)MNIST, as Debian's `dataset-fashion-mnist` package ships them."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from levers.errors import LeversConfigError

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
IDX_DTYPE = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32, 0x0D: np.float32, 0x0E: np.float64}
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: Path) -> np.ndarray:
    """The idx format: two zero bytes, a dtype code, the number of dimensions, big-endian sizes, then the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        raw = file.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPE:
        raise LeversConfigError("data.source.root", str(path), "idx files (magic 0x00 0x00 <dtype> <ndim>)")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_DTYPE[raw[2]]).newbyteorder(">")
    return np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim).reshape(shape)


def load_fashion_mnist(root: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Train rows first, then the official 10,000 test rows (so `data.holdout_last=10000` keeps the official split).

    Pixels are returned as 0..1 floats, flattened to 784 features.
    """
    folder = Path(root) if root else DEBIAN_FASHION_MNIST
    parts = [_load_pair(folder, *FILES[split]) for split in ("train", "test")]
    images = np.concatenate([images for images, _ in parts]).reshape(-1, 28 * 28 * 1)
    labels = np.concatenate([labels for _, labels in parts]).astype(np.int64)
    return images.astype(np.float32) / 255.0, labels


def _load_pair(folder: Path, images: str, labels: str) -> tuple[np.ndarray, np.ndarray]:
    return read_idx(_find(folder, images)), read_idx(_find(folder, labels))


def _find(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.exists():
            return candidate
    raise LeversConfigError(
        "data.source.root",
        str(folder),
        f"a folder holding {stem}(.gz); install Debian's dataset-fashion-mnist "
        "(apt-get install dataset-fashion-mnist) or point data.source.root at the idx files",
    )
