"""Checkpoint files: written atomically, read back as data only.

Writing: a kill at any moment leaves the previous file or the new one, never half; Ctrl-C or SIGTERM during a write
takes effect right after it.
Reading: only existing local files, and only with ``torch.load(weights_only=True)``, whose unpickler refuses any
class or function that is not plain data (tensors, numbers, strings, containers). Lightning's own loader would
fetch an ``http://`` path and unpickle it in full, which runs whatever code the file names.
"""

from __future__ import annotations

import pickle
import re
import signal
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from levers.errors import LeversConfigError
from levers.io import atomic_write

WHAT_A_CHECKPOINT_IS = "an existing local checkpoint file written by levers (checkpoints/*.ckpt of a run)"


CALLBACK_PATH_KEYS = ("dirpath", "best_model_path", "kth_best_model_path", "last_model_path")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's TorchCheckpointIO writes straight into the target file; this writes a temporary file in the
    same folder and renames it over the target. Every checkpoint Lightning reads through the Trainer's strategy
    comes through `load_checkpoint` (levers offers only strategies that read through it)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        with interrupts_held(), atomic_write(path, "wb") as file:
            torch.save(checkpoint, file)

    def load_checkpoint(self, path: str | Path, map_location: Any = None, weights_only: bool | None = None) -> dict:
        checkpoint = load_checkpoint(path, "ckpt_path", map_location=map_location or "cpu")
        contain_callback_paths(checkpoint, Path(path).resolve().parent)
        return checkpoint


HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive inside the block are delivered as it ends. A KeyboardInterrupt raised inside
    torch.save makes its zip writer fail as well, and that RuntimeError, not the interrupt, would end the run, with
    a traceback instead of exit 130. Python runs signal handlers in the main thread only, so only there is anything
    held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in HELD_SIGNALS}
    held = {sig: handler for sig, handler in previous.items() if handler is not None}  # None: not set from Python
    for sig in held:
        signal.signal(sig, lambda signum, _frame: arrived.append(signum))
    try:
        yield
    finally:
        for sig, handler in held.items():
            signal.signal(sig, handler)
        for signum in arrived:
            signal.raise_signal(signum)


def contain_callback_paths(checkpoint: dict[str, Any], folder: Path) -> None:
    """Lightning restores ModelCheckpoint's paths from the file and later deletes the "previous best" they name
    (recursively, after an unresolved `dirpath in parents` check that `../` defeats). A path is kept only when it is
    plainly a checkpoint file in the checkpoint's own folder; any other is forgotten (emptied) first."""
    for state in (checkpoint.get("callbacks") or {}).values():
        if not isinstance(state, dict):
            continue
        for key in CALLBACK_PATH_KEYS:
            if state.get(key) and not _plain_path_in(state[key], folder, folder_itself=key == "dirpath"):
                state[key] = ""
        models = state.get("best_k_models")
        if isinstance(models, dict) and not all(_plain_path_in(name, folder) for name in models):
            state["best_k_models"] = {}


def _plain_path_in(path: Any, folder: Path, folder_itself: bool = False) -> bool:
    """A local path without `..` or links, inside `folder`, naming a .ckpt file (or, for a dirpath, a folder)."""
    text = str(path)
    if "://" in text:
        return False
    candidate = Path(text)
    try:
        resolved = candidate.resolve()
    except (OSError, ValueError):
        return False
    if resolved != candidate.absolute() or not (resolved == folder or folder in resolved.parents):
        return False
    if folder_itself:
        return not resolved.exists() or resolved.is_dir()
    return resolved.suffix == ".ckpt" and (not resolved.exists() or resolved.is_file())


def local_checkpoint(path: str | Path, key: str) -> Path:
    """`path` as an existing local file, else one line naming `key` (a URL is refused before anything is fetched)."""
    text = str(path)
    if "://" in text:
        raise LeversConfigError(key, text, f"{WHAT_A_CHECKPOINT_IS}; URLs are not read (download the file first)")
    local = Path(text).resolve()  # absolute: Lightning reads some bare names (`last`, `hpc`) as commands
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
