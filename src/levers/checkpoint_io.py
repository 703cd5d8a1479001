"""Checkpoints written atomically: a kill at any moment leaves the previous file or the new one, never half."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from levers.io import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's TorchCheckpointIO writes straight into the target file; this writes a temporary file in the
    same folder and renames it over the target."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        with atomic_write(path, "wb") as file:
            torch.save(checkpoint, file)
