"""Pretrained weights from a local file (`model.weights`): read as tensors only, matched to the network by name.

A weights file is data. It is read with `torch.load(weights_only=True)` (or safetensors), which refuses any pickled
object that is not a tensor or a plain container, so a file can never run code; nothing read from it names a class.
Three layouts are accepted: a bare `state_dict` (what `torch.save(torchvision.models.resnet18(weights=...)
.state_dict(), path)` writes), a levers or Lightning checkpoint (its `state_dict`, with levers' `net.backbone.`
prefix), and a DDP-wrapped `module.` state dict.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from levers.errors import LeversConfigError

log = logging.getLogger(__name__)
KEY = "model.weights"
PREFIXES = ("net.backbone.", "backbone.", "module.")  # levers checkpoint, levers Backbone state dict, DDP
HEAD = "fc."  # the classifier the file was trained with; a new head is sized from the data


def read_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """The file's tensors by name, prefixes of known wrappers removed; one line naming the key if it is not that."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise LeversConfigError(KEY, str(path), "an existing file of weights (a state_dict saved with torch.save)")
    loaded = _load(path)
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]  # a Lightning / levers checkpoint
    if not isinstance(loaded, Mapping) or not loaded:
        raise LeversConfigError(KEY, str(path), "a mapping of parameter names to tensors (a state_dict)")
    tensors = {str(name): value for name, value in loaded.items() if isinstance(value, torch.Tensor)}
    if not tensors:
        raise LeversConfigError(KEY, str(path), "a state_dict holding tensors")
    return _strip_prefix(tensors)


def _load(path: Path) -> object:
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ModuleNotFoundError:
            raise LeversConfigError(KEY, str(path), "a .pt/.pth file, or safetensors installed") from None
        return load_file(str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:  # not tensors only, or not a torch file at all
        allowed = f"a file of tensors saved with torch.save; levers never unpickles objects ({_reason(error)})"
        raise LeversConfigError(KEY, str(path), allowed) from None
    except (RuntimeError, EOFError, OSError) as error:  # a truncated or damaged torch file
        raise LeversConfigError(KEY, str(path), f"a readable torch.save file ({_reason(error)})") from None


def _reason(error: Exception) -> str:
    """The line of torch's message that says what was wrong (its weights-only unpickler's own reason)."""
    text = str(error).split("WeightsUnpickler error:")[-1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:160] if lines else type(error).__name__


def _strip_prefix(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in PREFIXES:
        if any(name.startswith(prefix) for name in tensors):
            return {name[len(prefix) :]: value for name, value in tensors.items() if name.startswith(prefix)}
    return tensors


@torch.no_grad()
def load_into(net: nn.Module, tensors: Mapping[str, torch.Tensor], architecture: str) -> int:
    """Copy every tensor of `net` (its classifier `fc` excepted) from `tensors`; returns how many were copied.

    Names must match exactly; a missing or extra name, or a shape that differs, is an error naming it. The one
    adaptation made is torchvision's and timm's for the first convolution: ImageNet weights (3 input channels)
    on grey images are summed over colour, and grey weights on colour images are spread evenly over the channels.
    """
    own = {name: value for name, value in net.state_dict().items() if not name.startswith(HEAD)}
    given = {name: value for name, value in tensors.items() if not name.startswith(HEAD)}
    missing, extra = sorted(own.keys() - given.keys()), sorted(given.keys() - own.keys())
    if missing or extra:
        shown = "; ".join(
            f"{label} {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
            for label, names in (("missing", missing), ("unexpected", extra))
            if names
        )
        raise LeversConfigError(KEY, f"{len(given)} tensors", f"the weights of a {architecture} ({shown})")
    for name, target in own.items():
        value = given[name]
        if name == "conv1.weight":
            value = _adapt_input_channels(value, target.shape)
        if value.shape != target.shape:
            raise LeversConfigError(
                KEY, f"{name} of shape {list(value.shape)}", f"shape {list(target.shape)} for this {architecture}"
                + (" (model.stem must match the one the weights were trained with)" if name == "conv1.weight" else "")
            )  # fmt: skip
        target.copy_(value.to(target.dtype))
    log.info("loaded %d pretrained tensors into the %s", len(own), architecture)
    return len(own)


def _adapt_input_channels(weight: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    if weight.ndim != 4 or weight.shape[1] == shape[1] or weight.shape[0] != shape[0]:
        return weight
    if shape[1] == 1:
        return weight.sum(dim=1, keepdim=True)
    if weight.shape[1] == 1:
        return weight.repeat(1, shape[1], 1, 1) / shape[1]
    return weight
