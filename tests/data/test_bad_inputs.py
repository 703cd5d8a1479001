"""Defective data fails before training with one line naming the input and what is allowed."""

from __future__ import annotations

import pytest

from levers.errors import LeversConfigError
from levers.run import train


@pytest.mark.parametrize(
    ("source", "key", "allowed"),
    [
        ("nan_in_features", "data.features", "finite numbers"),
        ("inf_in_features", "data.features", "finite numbers"),
        ("nan_in_target", "data.target", "finite numbers"),
        ("text_features", "data.features", "numeric columns"),
        ("not_a_pair", "data.source", "returning (features, target)"),
    ],
)
def test_defective_source_is_rejected_naming_the_input(make_cfg, source, key, allowed):
    with pytest.raises(LeversConfigError) as error:
        train(make_cfg("data=wine", f"data.source._target_=tests.bad_sources.{source}"))
    assert error.value.key == key and allowed in str(error.value)
