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


def test_embedding_encoding_is_one_code_column_with_zero_for_a_category_unseen_in_train():
    encoder = TableEncoder.fit(FRAME.iloc[TRAIN], "mean", categorical_encoding="embedding")
    assert encoder.output_names == ["size", "colour"]
    codes = encoder.transform(FRAME)[:, 1].tolist()
    assert codes == [2, 1, 1, 0]  # red, blue, None -> train mode (blue), green (unseen) -> 0
    assert encoder.input_layout() == {"categorical": [[1, 3]], "binary": []}  # blue, red and the unseen row


def test_missing_indicator_follows_each_column_with_gaps_in_train():
    encoder = TableEncoder.fit(FRAME.iloc[TRAIN], "median", missing_indicators=True)
    assert encoder.output_names == ["size", "size_missing", "colour=blue", "colour=red", "colour_missing"]
    encoded = encoder.transform(FRAME)
    assert encoded[:, 1].tolist() == [0, 0, 1, 0] and encoded[2, 0] == 2.0  # flagged and still imputed
    assert encoded[:, 4].tolist() == [0, 0, 1, 0]
    assert encoder.input_layout()["binary"] == [1, 2, 3, 4]


def test_no_indicator_for_a_column_complete_in_the_train_split():
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": [np.nan, 1.0, 2.0]})
    encoder = TableEncoder.fit(frame.iloc[:2], "median", missing_indicators=True)  # `a` is complete in train
    assert encoder.output_names == ["a", "b", "b_missing"]


def test_an_unknown_categorical_encoding_is_refused_naming_the_key():
    import pytest

    from levers.errors import LeversConfigError

    with pytest.raises(LeversConfigError, match="data.categorical_encoding.*onehot, embedding"):
        TableEncoder.fit(FRAME, "mean", categorical_encoding="hashing")


def test_an_embedding_encoder_state_survives_a_weights_only_load(tmp_path):
    encoder = TableEncoder.fit(FRAME.iloc[TRAIN], "median", categorical_encoding="embedding", missing_indicators=True)
    torch.save({"encoder": encoder.state()}, tmp_path / "state.pt")
    loaded = TableEncoder.from_state(torch.load(tmp_path / "state.pt", weights_only=True)["encoder"])
    assert loaded.input_layout() == encoder.input_layout()
    np.testing.assert_array_equal(loaded.transform(FRAME), encoder.transform(FRAME))
