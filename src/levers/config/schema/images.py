"""Schema of `data=images`: your own images, a folder of class subfolders (src/levers/data/images.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING

from levers.config.schema.checks import POSITIVE, Check, checked, int_in
from levers.config.schema.data import DataConfig

CHANNELS = Check(lambda v: type(v) is int and v in (1, 3), "1 (greyscale, Pillow mode L) or 3 (RGB)")
IMAGE_SIZE = int_in(2, 2048, "an integer 2..2048 (every image is resized to image_size x image_size)")


@dataclass
class ImagesDataConfig(DataConfig):
    path: str = MISSING  # a folder holding one subfolder per class, relative to the directory you start from
    image_size: int = checked(32, IMAGE_SIZE)  # pixels per side after resizing (square, bilinear)
    channels: int = checked(3, CHANNELS)  # 3: RGB (a grey image gets 3 equal channels); 1: greyscale
    # decoded float32 pixels (images x channels x image_size^2 x 4 bytes) beyond this fail before decoding
    max_memory_gb: float = checked(4.0, POSITIVE)


OPTIONS: dict[str, dict[str, Any]] = {"data": {"images": ImagesDataConfig}}
