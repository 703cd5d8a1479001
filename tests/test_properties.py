"""Property: over arbitrary config values, the pipeline either trains with finite losses or rejects the input
with LeversConfigError naming the key, never a traceback from inside torch."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from levers.errors import LeversConfigError
from levers.run import train

VALUES = {
    "optimizer.lr": st.one_of(st.sampled_from([-1.0, 0.0]), st.floats(1e-5, 1.0)),
    "regularization.dropout": st.floats(-0.5, 1.5),
    "model.depth": st.integers(-2, 4),
    "model.width": st.integers(-1, 64),
    "data.batch_size": st.integers(-1, 400),
    "model.activation": st.sampled_from(["relu", "elu", "selu", "tanh", "sigmoid", "swish"]),
    "scaling.method": st.sampled_from(["standard", "minmax", "robust", "decimal", "none", "zscore"]),
    "data.val_fraction": st.floats(0.0, 0.95),
}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.fixed_dictionaries(VALUES), data=st.sampled_from(["digits", "breast_cancer", "diabetes"]))
def test_any_config_trains_with_finite_loss_or_is_rejected_by_key(make_cfg, values, data):
    overrides = [f"{key}={value}" for key, value in values.items()]
    cfg = make_cfg(f"data={data}", "data.limit=300", "trainer.fast_dev_run=true", *overrides)
    try:
        best = train(cfg)
    except LeversConfigError as error:
        assert error.key.split(" ")[0].split(".")[0] in {"optimizer", "regularization", "model", "data", "scaling"}
        assert str(error).startswith(error.key)
        return
    assert math.isfinite(best)
