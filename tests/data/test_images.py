"""Your own images (data=images): a folder of class subfolders, decoded, resized, split and trained on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from levers.config.settings import data_settings
from levers.config.validate import validate_config
from levers.data.cache import cache_key
from levers.data.images import RESAMPLE, interleaved, list_images, load_images
from levers.data.prepared import prepare
from levers.errors import LeversConfigError
from levers.run import train
from levers.serving.checkpoint import restore
from levers.serving.predict import predict_frame
from tests.image_files import NAMES, write_digits


def by_hand(path: Path, mode: str, size: int) -> np.ndarray:
    """What Pillow itself gives: drafted (a JPEG at a reduced scale when that still covers `size`), converted,
    resized, channels first, in [0, 1]."""
    image = Image.open(path)
    image.draft(mode, (size, size))
    pixels = np.asarray(image.convert(mode).resize((size, size), RESAMPLE), dtype=np.float32)
    return (pixels.reshape(size, size, -1).transpose(2, 0, 1) / 255.0).reshape(-1)


@pytest.fixture
def digits(tmp_path) -> Path:
    return write_digits(tmp_path / "digits", per_class=6)


def prepared(make_cfg, path: Path, *overrides: str):
    cfg = make_cfg("data=images", f"data.path={path}", *overrides)
    validate_config(cfg)
    return prepare(data_settings(cfg.data), cfg.scaling.method, cfg.seed)


def test_loaded_pixels_equal_pillows_own_decoding(digits):
    features, target = load_images(str(digits), image_size=12, channels=1)
    files = interleaved(list_images(digits))
    assert features.dtype == np.float32 and features.shape == (60, 144)
    np.testing.assert_array_equal(features, np.stack([by_hand(file.path, "L", 12) for file in files]))
    assert target.tolist() == [file.label for file in files]


def test_jpeg_and_rgb_images_decode_like_pillow_channels_first(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(tmp_path / name / "x.jpg")
        Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(tmp_path / name / "y.jpeg")
    features, _ = load_images(str(tmp_path), image_size=10, channels=3)
    expected = [by_hand(file.path, "RGB", 10) for file in interleaved(list_images(tmp_path))]
    np.testing.assert_array_equal(features, np.stack(expected))
    grey = features.reshape(-1, 3, 10, 10)[[file.path.suffix == ".jpeg" for file in interleaved(list_images(tmp_path))]]
    assert np.all(grey[:, 0] == grey[:, 1]) and np.all(grey[:, 1] == grey[:, 2])  # a grey image: 3 equal channels


def test_red_pixels_land_in_the_first_channel(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (4, 4), (255, 0, 128)).save(tmp_path / name / "red.png")
    planes = load_images(str(tmp_path), image_size=4, channels=3)[0].reshape(2, 3, 4, 4)
    np.testing.assert_allclose(planes[:, :, 0, 0], [[1.0, 0.0, 128 / 255]] * 2)


def test_a_16_bit_png_is_scaled_not_clipped(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.fromarray(np.full((4, 4), 32768, dtype=np.uint16)).save(tmp_path / name / "wide.png")
    features, _ = load_images(str(tmp_path), image_size=4, channels=1)
    np.testing.assert_array_equal(features, np.full((2, 16), 128 / 255, dtype=np.float32))  # Pillow alone: 1.0


def test_labels_follow_the_sorted_folder_names(make_cfg, tmp_path):
    for index, name in enumerate(NAMES):  # each folder's images hold its index in NAMES as their grey level
        (tmp_path / name).mkdir()
        for i in range(10):
            Image.new("L", (4, 4), 20 * index).save(tmp_path / name / f"{i}.png")
    data = prepared(make_cfg, tmp_path, "data.image_size=4", "data.channels=1", "scaling=none")
    assert list(data.class_names) == sorted(NAMES)
    for x, y in data.tensors.values():
        written = [NAMES[i] for i in np.round(x[:, 0].numpy() * 255 / 20).astype(int)]  # the folder each row is from
        assert [sorted(NAMES)[label] for label in y.tolist()] == written


def test_images_are_resized_to_image_size_and_the_shape_follows(make_cfg, tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(5):
            Image.new("L", (30, 17), 40 * i).save(tmp_path / name / f"{i}.png")  # neither square nor 10 px
    cfg = make_cfg("data=images", f"data.path={tmp_path}", "data.image_size=10", "data.channels=1")
    assert list(cfg.data.image_shape) == [1, 10, 10]
    features, _ = load_images(str(tmp_path), image_size=10, channels=1)
    assert features.shape == (10, 100)


def test_the_stratified_split_holds_every_class_in_every_split(make_cfg, tmp_path):
    data = prepared(make_cfg, write_digits(tmp_path / "d", per_class=10, side=8), "data.channels=1")
    for split in ("train", "val", "test"):
        assert sorted(data.tensors[split][1].unique().tolist()) == list(range(10)), split


def test_scaling_is_fitted_on_the_train_split(make_cfg, tmp_path):
    digits = write_digits(tmp_path / "d", per_class=10, side=8)
    data = prepared(make_cfg, digits, "data.channels=1")  # default scaling: standard
    features = data.tensors["train"][0]
    assert features.mean(0).abs().max() < 1e-4  # z-scored with the train split's own statistics


def test_limit_keeps_a_class_balanced_subset(digits):
    _, target = load_images(str(digits), image_size=8, channels=1, limit=20)
    assert sorted(target.tolist()) == sorted(NAMES * 2)


def test_images_in_nested_folders_belong_to_their_class_folder(digits):
    (digits / "one" / "batch2").mkdir()
    (digits / "zero" / next((digits / "zero").iterdir()).name).rename(digits / "one" / "batch2" / "moved.png")
    labels = {file.path.name: file.label for file in list_images(digits)}
    assert labels["moved.png"] == "one" and len(labels) == 60


def test_the_memory_check_counts_only_the_images_limit_keeps(digits):
    load_images(str(digits), image_size=64, channels=3, max_memory_gb=0.0005, limit=10)  # 0.47 MiB of 0.5
    with pytest.raises(LeversConfigError, match="20 images"):
        load_images(str(digits), image_size=64, channels=3, max_memory_gb=0.0005, limit=20)


def test_grey_images_read_as_rgb_suggest_one_channel(digits, caplog):
    with caplog.at_level("INFO", logger="levers.data.images"):
        load_images(str(digits), image_size=8, channels=3)
    assert "data.channels=1" in caplog.text


def test_hidden_files_and_folders_are_skipped(digits):
    (digits / "one" / ".DS_Store").write_bytes(b"\0\1junk")
    (digits / ".cache").mkdir()
    (digits / ".cache" / "x.txt").write_text("not a class")
    assert len(list_images(digits)) == 60


def _truncated(root: Path) -> Path:
    path = root / "one" / "bad.png"
    path.write_bytes((root / "two" / next(p.name for p in (root / "two").iterdir())).read_bytes()[:60])
    return path


def _text_file(root: Path) -> Path:
    path = root / "one" / "notes.txt"
    path.write_text("taken on a rainy day")
    return path


def _text_named_png(root: Path) -> Path:
    path = root / "one" / "fake.png"
    path.write_text("not a png")
    return path


def _top_level_file(root: Path) -> Path:
    path = root / "README.png"
    path.write_bytes(b"")
    return path


def _one_class(root: Path) -> Path:
    for name in NAMES[1:]:
        for file in (root / name).iterdir():
            file.unlink()
        (root / name).rmdir()
    return root


def _empty_folder(root: Path) -> Path:
    _one_class(root)
    for file in (root / "zero").iterdir():
        file.unlink()
    (root / "zero").rmdir()
    return root


def _empty_class(root: Path) -> Path:
    (root / "ten").mkdir()
    return root / "ten"


@pytest.mark.parametrize(
    ("make_bad", "allowed"),
    [
        (_truncated, "a readable PNG or JPEG image (PIL: "),
        (_text_file, "an image file (.png, .jpg, .jpeg"),
        (_text_named_png, "a readable PNG or JPEG image (PIL: cannot identify image file"),
        (_top_level_file, "a class subfolder: images go in"),
        (_one_class, "a folder with at least 2 class subfolders (found zero)"),
        (_empty_folder, "a folder with at least 2 class subfolders (found none)"),
        (_empty_class, "a class folder holding at least one image"),
    ],
)
def test_bad_input_is_one_line_naming_the_file(digits, make_bad, allowed):
    bad = make_bad(digits)
    with pytest.raises(LeversConfigError) as error:
        load_images(str(digits), image_size=8, channels=1)
    assert error.value.key == "data.path" and error.value.value == str(bad)
    assert allowed in str(error.value) and "\n" not in str(error.value)


def test_a_missing_folder_names_data_path(tmp_path):
    with pytest.raises(LeversConfigError, match=r"data.path=.*nowhere' is not allowed: an existing folder"):
        load_images(str(tmp_path / "nowhere"))


def test_an_unset_path_says_how_to_set_it(make_cfg):
    with pytest.raises(LeversConfigError, match=r"data.path='\?\?\?'.*python train.py data=images data.path=FOLDER"):
        data_settings(make_cfg("data=images").data)


@pytest.mark.parametrize(
    ("override", "key"), [("data.channels=2", "data.channels"), ("data.image_size=1", "data.image_size")]
)
def test_a_bad_value_fails_at_start_up(make_cfg, tmp_path, override, key):
    with pytest.raises(LeversConfigError) as error:
        validate_config(make_cfg("data=images", f"data.path={tmp_path}", override))
    assert error.value.key == key


def test_too_many_pixels_fail_before_decoding_naming_the_size(digits):
    _truncated(digits)  # never reached: the size is checked first
    with pytest.raises(LeversConfigError) as error:
        load_images(str(digits), image_size=64, channels=3, max_memory_gb=0.001)
    message = str(error.value)
    assert error.value.key == "data.image_size" and "61 images x 3x64x64 x 4 bytes = 2.9 MiB" in message
    assert "smaller data.image_size or data.limit" in message


def test_an_image_added_to_the_folder_misses_the_data_cache(make_cfg, digits):
    data = data_settings(make_cfg("data=images", f"data.path={digits}").data)
    before = cache_key(data, "standard", 42)
    assert cache_key(data, "standard", 42) == before
    image = next((digits / "one").iterdir())
    (digits / "two" / image.name).write_bytes(image.read_bytes())
    assert cache_key(data, "standard", 42) != before


def test_the_images_cnn_preset_learns_digits_from_png_files_and_predicts_folder_names(make_cfg, tmp_path):
    root = write_digits(tmp_path / "digits", per_class=100)
    cfg = make_cfg("experiment=images_cnn", f"data.path={root}", "data.image_size=16", "data.channels=1",
                   "data.batch_size=32", "trainer.max_epochs=2")  # fmt: skip
    train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert summary["test"]["test/acc"] > 0.8  # chance: 0.1; measured 0.947
    restored = restore(summary["best_checkpoint"])
    pixels, folders = load_images(str(root), image_size=16, channels=1, limit=50)
    predicted = predict_frame(restored, pd.DataFrame(pixels.astype(np.float64)))["prediction"]  # as read from a CSV
    assert restored.class_names == sorted(NAMES) and (predicted == folders).mean() > 0.8
