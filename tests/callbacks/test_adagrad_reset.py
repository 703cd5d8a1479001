"""Adagrad's accumulator reset (callbacks.adagrad_reset) inside a real (short) training run."""

from __future__ import annotations

import pytest

from tests.in_training import FinalWeights, run_with


@pytest.mark.parametrize(("reset_every", "expect_zero"), [(2, True), (3, False)])
def test_adagrad_reset_zeroes_the_accumulator_at_the_configured_epoch(make_cfg, reset_every, expect_zero):
    final = FinalWeights()
    run_with(
        make_cfg, "optimizer=adagrad", f"callbacks.adagrad_reset.every_n_epochs={reset_every}", "trainer.max_epochs=2",
        callbacks=[final],
    )  # fmt: skip
    optimizer = final.module.trainer.optimizers[0]
    sums = [state["sum"] for state in optimizer.state.values()]
    assert sums and all(bool((s == 0).all()) == expect_zero for s in sums)
