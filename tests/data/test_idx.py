"""The idx reader behind data=fashion_mnist."""

from __future__ import annotations

import numpy as np
import pytest

from levers.config.settings import data_settings
from levers.data.idx import load_fashion_mnist, read_idx
from levers.errors import LeversConfigError
from tests.idx_files import write_fashion_mnist, write_idx


def test_read_idx_round_trips_shape_and_values(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), array)


def test_fashion_mnist_puts_the_official_test_rows_last_and_scales_pixels(tmp_path):
    features, labels = load_fashion_mnist(str(write_fashion_mnist(tmp_path, train_rows=30, test_rows=10)))
    assert features.shape == (40, 784) and labels.shape == (40,)
    assert features.min() >= 0.0 and features.max() <= 1.0
    assert labels[-10:].tolist() == list(range(10))


def test_missing_files_say_how_to_install_them(tmp_path):
    with pytest.raises(LeversConfigError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(str(tmp_path))


def test_a_file_that_is_not_idx_is_rejected(tmp_path):
    (tmp_path / "bad").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(LeversConfigError, match="idx files"):
        read_idx(tmp_path / "bad")


def test_limit_and_classes_keep_the_official_test_rows(make_cfg, tmp_path):
    from levers.data.datamodule import TabularDataModule

    root = write_fashion_mnist(tmp_path, train_rows=200, test_rows=40)
    cfg = make_cfg("data=fashion_mnist", f"data.source.root={root}", "data.holdout_last=40", "data.limit=50",
                   "data.classes=[0,1,2,3,4]", "data.batch_size=8")  # fmt: skip
    data = TabularDataModule(data_settings(cfg.data), "minmax", seed=0)
    # 20 of the 40 official test rows are classes 0-4; `limit` counted only the 200 training-file rows.
    assert data.split_size("test") == 20
    assert data.split_size("train") + data.split_size("val") == 50
