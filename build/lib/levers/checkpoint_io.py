"""Checkpoint files: written atomically, read back as data only.

Writing: a kill at any moment leaves the previous file or the new one, never half.
Reading: only existing local files, and only with ``torch.load(weights_only=True)``, whose unpickler refuses any
class or function that is not plain data (tensors, numbers, strings, containers). Lightning's own loader would
fetch an ``http://`` path and unpickle it in full, which runs whatever code the file names.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from levers.errors import LeversConfigError
from levers.io import atomic_write

WHAT_A_CHECKPOINT_IS = "an existing local checkpoint file written by levers (checkpoints/*.ckpt of a run)"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's TorchCheckpointIO writes straight into the target file; this writes a temporary file in the
    same folder and renames it over the target. Every checkpoint Lightning reads comes through `load_checkpoint`."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        with atomic_write(path, "wb") as file:
            torch.save(checkpoint, file)

    def load_checkpoint(self, path: str | Path, map_location: Any = None, weights_only: bool | None = None) -> dict:
        return load_checkpoint(path, "ckpt_path", map_location=map_location)


def local_checkpoint(path: str | Path, key: str) -> Path:
    """`path` as an existing local file, else one line naming `key` (a URL is refused before anything is fetched)."""
    text = str(path)
    if "://" in text:
        raise LeversConfigError(key, text, f"{WHAT_A_CHECKPOINT_IS}; URLs are not read (download the file first)")
    local = Path(text)
    if not local.is_file():
        raise LeversConfigError(key, text, WHAT_A_CHECKPOINT_IS)
    return local


def load_checkpoint(path: str | Path, key: str, map_location: Any = "cpu") -> dict[str, Any]:
    """The checkpoint at `path` as plain data; a truncated, foreign or code-carrying file is one line naming `key`."""
    local = local_checkpoint(path, key)
    try:
        checkpoint = torch.load(local, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        named = re.search(r"Unsupported global: GLOBAL (\S+)", str(error))
        reason = f"it names code ({named.group(1)}), which levers never unpickles" if named else "it is not readable"
        raise LeversConfigError(key, str(path), f"{WHAT_A_CHECKPOINT_IS}; {reason}") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as error:
        reason = f"it is truncated or not a checkpoint ({type(error).__name__})"
        raise LeversConfigError(key, str(path), f"{WHAT_A_CHECKPOINT_IS}; {reason}") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise LeversConfigError(key, str(path), f"{WHAT_A_CHECKPOINT_IS}; it holds no state_dict")
    return checkpoint
