"""levers: a declarative, config-driven neural-network training pipeline (Hydra + PyTorch Lightning).

`levers.train(...)` trains from Python (src/levers/api.py); it is imported on first use, so `import levers` stays
cheap (no torch, Hydra or Lightning import) for the command line and the checkpoint commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["TrainResult", "train"]

if TYPE_CHECKING:
    from levers.api import TrainResult, train


def __getattr__(name: str) -> Any:
    if name in __all__:
        from levers import api

        return getattr(api, name)
    raise AttributeError(f"module 'levers' has no attribute {name!r}")
