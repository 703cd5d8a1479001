"""Image augmentation of training batches (`data.augment=none | shift | shift_rotate`), on the batch's device.

Applied by the data module's `on_after_batch_transfer` (levers.data.datamodule), i.e. after the batch reached the
device it trains on and only while the Trainer trains: validation, test and prediction batches are never touched,
and a data set held on a GPU is augmented there, with no per-row Python work. Torchvision is not a dependency:
shifts are a zero pad and a per-row crop (one gather), rotations `affine_grid` + `grid_sample`.

The rows arrive scaled (levers.data.scaling); the transform works on pixels: the scaler is undone, the image moved
(the background that comes in is 0, black, as in digits and Fashion-MNIST), and the scaler applied again.
Random draws come from a CPU generator seeded by (seed, epoch, batch of the epoch): the same seed gives the same
augmented batches on any device.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from levers.data.scaling import AffineScaler
from levers.errors import LeversConfigError
from levers.seeding import epoch_seed

MAX_DEGREES = 10.0  # rotations drawn uniformly in [-10, 10] degrees
SHIFT_FRACTION = 1 / 14  # shifts of up to ~7% of the side: 1 pixel on 8x8 digits, 2 on 28x28 images


def max_shift(height: int, width: int) -> int:
    return max(1, round(min(height, width) * SHIFT_FRACTION))


class ImageAugment:
    """Random integer shifts of up to `max_shift` pixels (and, with `rotate`, rotations of up to MAX_DEGREES)."""

    def __init__(self, image_shape: list[int], scaler: AffineScaler, seed: int, rotate: bool) -> None:
        self.shape = tuple(image_shape)
        self.scaler, self.seed, self.rotate = scaler, seed, rotate
        self.shift = max_shift(*self.shape[1:])
        self._epoch, self._batch = -1, 0

    @classmethod
    def of(cls, kind: str, image_shape: list[int] | None, scaler: AffineScaler, seed: int) -> ImageAugment | None:
        """None for `none`; refused in one line for data that are not images."""
        if kind == "none":
            return None
        if image_shape is None:
            raise LeversConfigError("data.augment", kind, "none for data without data.image_shape (images only)")
        return cls(list(image_shape), scaler, seed, rotate=kind == "shift_rotate")

    def restart(self) -> None:
        """A new fit starts counting batches afresh (probes of `data.batch_size=auto` fit before the run does)."""
        self._epoch, self._batch = -1, 0

    def __call__(self, features: torch.Tensor, epoch: int) -> torch.Tensor:
        """The batch's rows augmented; the k-th batch of an epoch draws from the seed of (seed, epoch, k)."""
        if epoch != self._epoch:
            self._epoch, self._batch = epoch, 0
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, epoch) * 65_537 + self._batch)
        self._batch += 1
        return self.transform(features, generator)

    def transform(self, features: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        count = features.shape[0]
        offset = self.scaler.offset.to(features.device, features.dtype)
        scale = self.scaler.scale.to(features.device, features.dtype)
        images = (features * scale + offset).reshape(count, *self.shape)
        if self.rotate:
            degrees = (torch.rand(count, generator=generator) * 2 - 1) * MAX_DEGREES
            images = rotated(images, degrees.to(features.device, features.dtype))
        moves = torch.randint(-self.shift, self.shift + 1, (2, count), generator=generator)
        images = shifted(images, moves[0].to(features.device), moves[1].to(features.device), self.shift)
        return (images.reshape(count, -1) - offset) / scale


def rotated(images: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Each image turned about its centre by its angle; corners that come in are 0."""
    radians = degrees * (math.pi / 180)
    cos, sin, zero = radians.cos(), radians.sin(), torch.zeros_like(radians)
    theta = torch.stack([torch.stack([cos, -sin, zero], -1), torch.stack([sin, cos, zero], -1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def shifted(images: torch.Tensor, down: torch.Tensor, right: torch.Tensor, pad: int) -> torch.Tensor:
    """Image i moved `down[i]` rows and `right[i]` columns (|moves| <= pad): zero padding, then a per-row crop."""
    count, _, height, width = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    rows = torch.arange(height, device=images.device) + pad - down[:, None]  # (count, height)
    cols = torch.arange(width, device=images.device) + pad - right[:, None]  # (count, width)
    index = torch.arange(count, device=images.device)[:, None, None]
    return padded[index, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (count, h, w, c) -> nchw
