"""A small folder of PNG digits in the class-subfolder layout of data=images, written by the test that reads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from levers.data.packaged import sklearn_digits

# Folder names whose sorted order (eight, five, four, ...) is not the digits' own: labels must follow the names.
NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def write_digits(root: Path, per_class: int, side: int = 16) -> Path:
    """scikit-learn's 8x8 digits, upscaled to side x side greyscale PNGs in root/<digit's name>/<row>.png."""
    features, target = sklearn_digits()
    for digit, name in enumerate(NAMES):
        folder = root / name
        folder.mkdir(parents=True)
        for row in np.flatnonzero(target == digit)[:per_class]:
            pixels = np.round(features[row].reshape(8, 8) * 255 / 16).astype(np.uint8)
            Image.fromarray(pixels).resize((side, side), Image.Resampling.NEAREST).save(folder / f"{row}.png")
    return root
