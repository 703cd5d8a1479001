"""Where levers' own config and example files are: the one place every part that reads them asks.

Both ship inside the package (`levers.conf`, `levers.examples`; pyproject maps them to the checkout's `conf/` and
`examples/`), so an editable checkout and a plain `pip install` find them the same way.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

CONFIG_DIR_ENV = "LEVERS_CONFIG_DIR"
CONFIG_PACKAGE = "levers.conf"
EXAMPLES_PACKAGE = "levers.examples"


def config_dir() -> str:
    """The folder of levers' own config (the installed `levers.conf`), unless LEVERS_CONFIG_DIR points elsewhere."""
    return os.environ.get(CONFIG_DIR_ENV) or str(files(CONFIG_PACKAGE))


def hydra_config_path() -> str:
    """What Hydra composes from: the package through its `pkg://` search path, or LEVERS_CONFIG_DIR's folder."""
    return (
        str(Path(os.environ[CONFIG_DIR_ENV]).resolve()) if os.environ.get(CONFIG_DIR_ENV) else f"pkg://{CONFIG_PACKAGE}"
    )


def example_file(name: str) -> str:
    """A file shipped in `levers.examples` (e.g. wage.csv), as a path any reader can open."""
    return str(files(EXAMPLES_PACKAGE) / name)
