"""Image augmentation: shifts and rotations move pixels as stated, are seeded, and touch training batches only."""

from __future__ import annotations

import pytest
import torch
from pytorch_lightning.callbacks import Callback

from levers.build import build_data
from levers.data.augment import ImageAugment, max_shift, rotated, shifted
from levers.data.scaling import AffineScaler
from levers.errors import LeversConfigError
from levers.run import train

IMAGE = torch.arange(16.0).reshape(1, 1, 4, 4)


def test_shift_moves_each_image_its_own_way_and_brings_in_zeros():
    images = torch.cat([IMAGE, IMAGE])
    out = shifted(images, down=torch.tensor([1, 0]), right=torch.tensor([-1, 1]), pad=1)
    assert torch.equal(out[0, 0, 1:, :3], IMAGE[0, 0, :3, 1:])
    assert out[0, 0, 0].eq(0).all() and out[0, 0, :, 3].eq(0).all()
    assert torch.equal(out[1, 0, :, 1:], IMAGE[0, 0, :, :3]) and out[1, 0, :, 0].eq(0).all()


def test_rotation_turns_about_the_centre():
    assert torch.allclose(rotated(IMAGE, torch.tensor([0.0])), IMAGE, atol=1e-5)
    assert torch.allclose(rotated(IMAGE, torch.tensor([90.0])), torch.rot90(IMAGE, 1, (2, 3)), atol=1e-4)


def test_shifts_are_a_pixel_or_two():
    assert (max_shift(8, 8), max_shift(28, 28)) == (1, 2)


def augmenter(seed: int) -> ImageAugment:
    augment = ImageAugment.of("shift_rotate", [1, 8, 8], AffineScaler(64), seed)
    assert augment is not None
    return augment


def test_same_seed_same_augmented_batches_another_seed_others():
    rows = torch.rand(16, 64)
    first, again, other = augmenter(1), augmenter(1), augmenter(2)
    batches = [first(rows, epoch=0), first(rows, epoch=0), first(rows, epoch=1)]
    assert all(torch.equal(b, again(rows, epoch)) for b, epoch in zip(batches, (0, 0, 1), strict=True))
    assert not torch.equal(batches[0], batches[1]) and not torch.equal(batches[0], batches[2])  # fresh draws
    assert not torch.equal(batches[0], other(rows, epoch=0))


def test_refused_in_one_line_for_data_without_image_shape(make_cfg):
    with pytest.raises(LeversConfigError, match=r"data\.augment.*data\.image_shape"):
        build_data(make_cfg("data=wine", "data.augment=shift"))


class Batches(Callback):
    """The features of every batch the module receives, per stage (after the transfer to its device)."""

    def __init__(self) -> None:
        self.seen: dict[str, list[torch.Tensor]] = {"train": [], "val": [], "test": []}

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.seen["train"].append(batch[0].clone())

    def on_validation_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0) -> None:
        self.seen["val"].append(batch[0].clone())

    def on_test_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0) -> None:
        self.seen["test"].append(batch[0].clone())


def test_training_batches_change_validation_and_test_batches_never(make_cfg):
    overrides = ("experiment=digits_cnn", "model.channels=[4]", "data.limit=300", "trainer.max_epochs=1")
    cfg = make_cfg(*overrides, "data.augment=shift_rotate")
    batches = Batches()
    train(cfg, extra_callbacks=[batches])
    data = build_data(cfg)  # the same seed: the same split, scaling and epoch-0 order
    plain = [features for features, _ in data.train_dataloader()]
    assert len(batches.seen["train"]) == len(plain)
    changed = [not torch.equal(seen, raw) for seen, raw in zip(batches.seen["train"], plain, strict=True)]
    assert all(changed)
    pixels = [data.feature_scaler.inverse(b) for b in batches.seen["train"]]  # moved in pixel units, 0..16
    assert all(p.min() >= -1e-4 and p.max() <= 16 + 1e-4 for p in pixels)
    for split in ("val", "test"):  # one batch each (eval_batch_size 1024); val also in the sanity check
        assert batches.seen[split] and all(torch.equal(b, data.tensors[split][0]) for b in batches.seen[split])
