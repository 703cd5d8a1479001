"""EfficientNet's compound scaling (Tan & Le, 2019): one coefficient phi grows a CNN's depth, width and input
resolution together, by alpha^phi, beta^phi and gamma^phi. The published bases (alpha=1.2, beta=1.1, gamma=1.15) were
found by a grid search under alpha * beta^2 * gamma^2 ~ 2, so each step of phi about doubles the FLOPs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from levers.errors import LeversConfigError

ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15  # depth, width, resolution: EfficientNet's published bases


@dataclass(frozen=True)
class ScaledShape:
    channels: tuple[int, ...]  # one conv block per entry
    resolution: tuple[int, int]  # the image's height and width as the first block sees it


def compound_scale(
    channels: tuple[int, ...] | list[int],
    resolution: tuple[int, int],
    phi: float,
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
) -> ScaledShape:
    """The blocks and input size of a CNN scaled by phi; phi=0 is the network as configured.

    Depth rounds up, as EfficientNet's block repeats do (a deeper net never gets fewer blocks); the added blocks
    repeat the last block's width. Width and resolution round to the nearest integer (EfficientNet rounds widths to
    multiples of 8, which would leave a 32-channel block unchanged until phi=2)."""
    if phi < 0:
        raise LeversConfigError("model.scale", phi, ">= 0 (0 = the network as configured)")
    for key, base in (("model.scale_depth", alpha), ("model.scale_width", beta), ("model.scale_resolution", gamma)):
        if base < 1:
            raise LeversConfigError(key, base, ">= 1 (a base below 1 shrinks the network as phi grows)")
    blocks = math.ceil(len(channels) * alpha**phi - 1e-9)
    widths = [*channels, *[channels[-1]] * (blocks - len(channels))]
    scaled = tuple(max(1, round(width * beta**phi)) for width in widths)
    height, width = (max(1, round(size * gamma**phi)) for size in resolution)
    return ScaledShape(scaled, (height, width))
