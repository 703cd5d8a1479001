"""Where the prepared data set lives while training: on the accelerator when it fits (`data.on_device`).

A data set held on the GPU is sliced there, so a training step does no host-to-device copy at all; Lightning's
per-batch transfer then finds every batch already on its device and leaves it alone.
"""

from __future__ import annotations

import logging

import torch

from levers.errors import LeversConfigError

log = logging.getLogger(__name__)

ON_DEVICE_CHOICES = ("auto", True, False)
FREE_MEMORY_SHARE = 0.5  # auto: the data may take at most this share of the device's free memory (the rest trains)


def data_device(setting: str | bool, device: torch.device, data_bytes: int, free_bytes: int | None) -> torch.device:
    """The device to hold the data set on for a run on `device` (`free_bytes`: its free memory, None if unknown).

    auto: the accelerator when the data takes at most FREE_MEMORY_SHARE of its free memory, else the host; true: the
    accelerator, or an error when the data cannot fit; false: the host.
    """
    host = torch.device("cpu")
    if setting is False or device.type == "cpu":
        return host
    fits = free_bytes is not None and data_bytes <= FREE_MEMORY_SHARE * free_bytes
    if fits or (setting is True and free_bytes is None):
        return device
    if setting is True:
        raise LeversConfigError(
            "data.on_device",
            True,
            f"auto or false: the data set needs {data_bytes / 2**20:.0f} MiB, more than "
            f"{FREE_MEMORY_SHARE:.0%} of the {free_bytes / 2**20:.0f} MiB free on {device}",
        )
    log.info("data stays in host memory: %.0f MiB is too large for %s", data_bytes / 2**20, device)
    return host


def free_memory(device: torch.device) -> int | None:
    """Free bytes on a CUDA device; None where torch cannot tell."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return None


def tensor_bytes(tensors: dict[str, tuple[torch.Tensor, ...]]) -> int:
    return sum(t.numel() * t.element_size() for pair in tensors.values() for t in pair)
