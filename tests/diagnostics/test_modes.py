"""`mode` selects the train path or one diagnostic; a wrong mode or diagnostic setting fails before any work."""

from __future__ import annotations

import pytest

from levers.errors import LeversConfigError
from levers.run import DIAGNOSTICS, run


def test_every_diagnostic_mode_of_the_schema_has_a_function():
    from levers.config.schema.diagnostics import MODES

    assert set(DIAGNOSTICS) == set(MODES) - {"train"}


@pytest.mark.parametrize(
    ("override", "key", "allowed"),
    [
        ("mode=debug", "mode", "one of train, lr_find, overfit, gradcheck"),
        (
            "diagnostics.lr_find.suggestion=lowest",
            "diagnostics.lr_find.suggestion",
            "one of valley, minimum_tenth, steepest, half_divergence",
        ),
        ("diagnostics.lr_find.min_drop=1", "diagnostics.lr_find.min_drop", "in [0, 1)"),
        ("diagnostics.overfit.loss_factor=1", "diagnostics.overfit.loss_factor", "> 1"),
        ("diagnostics.gradcheck.tolerance=0", "diagnostics.gradcheck.tolerance", "> 0"),
    ],
)
def test_bad_mode_or_diagnostic_setting_names_the_key(make_cfg, override, key, allowed):
    with pytest.raises(LeversConfigError) as error:
        run(make_cfg(override))
    assert error.value.key == key and allowed in str(error.value)


def test_lr_find_refuses_fast_dev_run_with_a_clear_error(make_cfg):
    with pytest.raises(LeversConfigError, match=r"trainer.fast_dev_run=True is not allowed: false for an LR range"):
        run(make_cfg("mode=lr_find", "trainer.fast_dev_run=true"))
