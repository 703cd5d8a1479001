"""Where levers' own config folder is: the one place every part that reads it (Hydra, the trust check) asks."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_DIR_ENV = "LEVERS_CONFIG_DIR"


def config_dir() -> str:
    """conf/ of the checkout this package runs from, unless LEVERS_CONFIG_DIR points elsewhere."""
    return os.environ.get(CONFIG_DIR_ENV, str(Path(__file__).resolve().parents[3] / "conf"))
