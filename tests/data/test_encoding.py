"""Encoding fitted on the train rows only, and stored as plain values that survive a weights-only load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from levers.data.encoding import TableEncoder

FRAME = pd.DataFrame(
    {
        "size": [1.0, 3.0, np.nan, 100.0],
        "colour": ["red", "blue", None, "green"],
    }
)
TRAIN = [0, 1, 2]  # "green" and size 100 are only in the held-out row


def test_imputed_value_is_the_train_median_not_the_whole_columns():
    encoder = TableEncoder.fit(FRAME.iloc[TRAIN], "median")
    assert encoder.fill["size"] == 2.0  # median of 1 and 3; with the held-out 100 it would be 3
    assert encoder.transform(FRAME)[2, 0] == 2.0


def test_categories_come_from_the_train_split_and_unseen_ones_encode_as_zeros():
    encoder = TableEncoder.fit(FRAME.iloc[TRAIN], "mean")
    assert encoder.output_names == ["size", "colour=blue", "colour=red"]
    encoded = encoder.transform(FRAME)
    assert encoded[:, 1:].tolist() == [[0, 1], [1, 0], [1, 0], [0, 0]]  # None -> train mode (a tie: blue)


def test_numeric_code_columns_can_be_one_hot_encoded():
    frame = pd.DataFrame({"code": [3, 1, 3]})
    encoder = TableEncoder.fit(frame, "error", categorical=["code"])
    assert encoder.transform(frame).tolist() == [[0, 1], [1, 0], [0, 1]]


def test_state_survives_a_weights_only_torch_load(tmp_path):
    encoder = TableEncoder.fit(FRAME.iloc[TRAIN], "median")
    torch.save({"encoder": encoder.state()}, tmp_path / "state.pt")
    loaded = TableEncoder.from_state(torch.load(tmp_path / "state.pt", weights_only=True)["encoder"])
    np.testing.assert_array_equal(loaded.transform(FRAME), encoder.transform(FRAME))


def test_input_without_a_training_column_is_refused_naming_it():
    import pytest

    from levers.errors import LeversConfigError

    encoder = TableEncoder.fit(FRAME.iloc[TRAIN], "median")
    with pytest.raises(LeversConfigError, match=r"missing columns \['colour'\]"):
        encoder.transform(FRAME[["size"]])
