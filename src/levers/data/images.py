"""Your own images (`data=images`): a folder of class subfolders, decoded with Pillow into flat [0, 1] pixels.

The layout is torchvision's ImageFolder convention, `<path>/<class name>/<file>`: one subfolder per class (files in
nested folders below it belong to it too), classes in sorted folder-name order. The target is each image's folder
name, so the data stage labels the classes 0..k-1 in that order and a checkpoint keeps the names
(`levers predict` writes `prediction=cat`, `prob_cat`...). Files are data: a name never chooses code.

Pixels leave this module only converted to [0, 1]: normalization is the `scaling` group's, fitted on the train
split (levers.data.scaling), or, for a pretrained backbone, the fixed per-channel mean/std of the data it was trained
on, applied inside the network (`scaling=none model.input_mean=... model.input_std=...`, levers.models.backbone).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from levers.errors import LeversConfigError

log = logging.getLogger(__name__)

# What an image file may end in (torchvision ImageFolder's list, and .gif); any other visible file is an error.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
MODES = {1: "L", 3: "RGB"}  # data.channels -> Pillow mode
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})
SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L"})  # how Pillow opens a 16-bit greyscale PNG or TIFF
RESAMPLE = Image.Resampling.BILINEAR
GIB = 1024**3
# Pillow releases the GIL while it decodes and resizes: 400 512x512 PNG/JPEG files took 1.65 s on one thread and
# 0.86 s on two (2 cores); 1,797 tiny 32x32 PNGs took 0.35 s either way. More threads than cores only queue.
DECODE_THREADS = min(8, os.cpu_count() or 1)


@dataclass(frozen=True)
class ImageFile:
    path: Path
    label: str  # the class folder's name


def load_images(
    path: str,
    image_size: int = 32,
    channels: int = 3,
    max_memory_gb: float = 4.0,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(features: rows x channels*image_size*image_size float32 in [0, 1], target: the class folder names).

    `limit` keeps a class-balanced first N images, chosen before anything is decoded (memory and time).
    """
    files = interleaved(list_images(path))[:limit]
    check_memory(len(files), channels, image_size, max_memory_gb)
    features, all_grey = decode_all(files, channels, image_size)
    if channels == 3 and all_grey:
        log.info("data: every image is greyscale; data.channels=1 holds them in a third of the memory")
    return features, np.array([file.label for file in files])


def list_images(root: str | Path) -> list[ImageFile]:
    """Every image under `root`'s class folders, by class then path; the layout is checked before any decoding."""
    folder = Path(root)
    if not folder.is_dir():
        raise LeversConfigError(
            "data.path", str(root), f"an existing folder of class subfolders (looked in {Path.cwd()})"
        )
    entries = _visible(folder)
    stray = [entry for entry in entries if not entry.is_dir()]
    if stray:
        raise LeversConfigError(
            "data.path", str(stray[0]), f"a class subfolder: images go in {folder}/<class name>/, not at the top level"
        )
    if len(entries) < 2:
        found = ", ".join(entry.name for entry in entries) or "none"
        raise LeversConfigError("data.path", str(folder), f"a folder with at least 2 class subfolders (found {found})")
    files = []
    for class_folder in entries:
        found = [ImageFile(file, class_folder.name) for file in _files_below(class_folder)]
        if not found:
            raise LeversConfigError("data.path", str(class_folder), "a class folder holding at least one image")
        files.extend(found)
    return files


def interleaved(files: list[ImageFile]) -> list[ImageFile]:
    """The classes spread evenly through the list, so that its first N files (`data.limit`) hold every class in
    proportion; the order is otherwise immaterial (the split is seeded and stratified)."""
    by_class: dict[str, list[ImageFile]] = {}
    for file in files:
        by_class.setdefault(file.label, []).append(file)
    ranked = [
        ((i + 0.5) / len(group), c, file) for c, group in enumerate(by_class.values()) for i, file in enumerate(group)
    ]
    return [file for *_, file in sorted(ranked, key=lambda item: item[:2])]


def check_memory(count: int, channels: int, image_size: int, max_memory_gb: float) -> None:
    """Fail before decoding when the decoded float32 pixels would not fit the configured budget."""
    needed = count * channels * image_size * image_size * 4
    if needed > max_memory_gb * GIB:
        raise LeversConfigError(
            "data.image_size",
            image_size,
            f"decoded pixels within data.max_memory_gb={max_memory_gb:g} GiB: {count} images x {channels}x"
            f"{image_size}x{image_size} x 4 bytes = {_size(needed)}; set a smaller data.image_size or "
            "data.limit, or raise data.max_memory_gb",
        )


def _size(nbytes: int) -> str:
    return f"{nbytes / GIB:.2f} GiB" if nbytes >= GIB / 100 else f"{nbytes / 1024**2:.1f} MiB"


def decode_all(files: list[ImageFile], channels: int, image_size: int) -> tuple[np.ndarray, bool]:
    """One float32 matrix, each row written in place by a pool thread; and whether every image was greyscale."""
    features = np.empty((len(files), channels * image_size * image_size), dtype=np.float32)

    def decode_row(row: int) -> bool:
        pixels, grey = decode(files[row].path, MODES[channels], image_size)
        features[row] = pixels.reshape(-1)
        return grey

    pool = ThreadPoolExecutor(max_workers=DECODE_THREADS)
    try:
        greys = list(pool.map(decode_row, range(len(files))))
    finally:  # a bad file: the error now, not after decoding the rest
        pool.shutdown(cancel_futures=True)
    np.divide(features, 255.0, out=features)
    return features, all(greys)


def decode(path: Path, mode: str, image_size: int) -> tuple[np.ndarray, bool]:
    """One image as a channels x image_size x image_size uint8 array (channels first, as the models fold it),
    and whether it was stored greyscale. Any file Pillow cannot read fully is one line naming it."""
    try:
        with Image.open(path) as image:
            grey = image.mode in GREY_MODES
            image.draft(mode, (image_size, image_size))  # a large JPEG is decoded at 1/2..1/8 scale: much faster
            resized = _eight_bit(image).convert(mode).resize((image_size, image_size), RESAMPLE)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise LeversConfigError("data.path", str(path), f"a readable PNG or JPEG image (PIL: {error})") from None
    pixels = np.asarray(resized, dtype=np.uint8).reshape(image_size, image_size, -1)
    return pixels.transpose(2, 0, 1), grey


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit greyscale image scaled to 8 bits (0..65535 -> 0..255): Pillow's own convert clips it at 255."""
    if image.mode not in SIXTEEN_BIT_MODES:
        return image
    pixels = np.asarray(image, dtype=np.float64) * (255 / 65535)
    return Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8), mode="L")


def _visible(folder: Path) -> list[Path]:
    """A folder's entries by name, hidden ones (dotfiles: .DS_Store, .ipynb_checkpoints) left out."""
    return sorted((entry for entry in folder.iterdir() if not entry.name.startswith(".")), key=lambda e: e.name)


def _files_below(folder: Path) -> Iterator[Path]:
    """A class folder's files, nested folders included, in sorted order; a visible non-image file is an error."""
    for entry in _visible(folder):
        if entry.is_dir():
            yield from _files_below(entry)
        elif entry.suffix.lower() in IMAGE_SUFFIXES:
            yield entry
        else:
            raise LeversConfigError(
                "data.path", str(entry), f"an image file ({', '.join(IMAGE_SUFFIXES)}); only hidden files are skipped"
            )
