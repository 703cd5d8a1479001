"""The RNN model inside a real (short) training run."""

from __future__ import annotations

from tests.in_training import run_with


def test_rnn_learns_digits_well_above_chance(make_cfg):
    summary, _ = run_with(make_cfg, "model=rnn", "trainer.max_epochs=3")
    assert summary["test"]["test/acc"] > 0.6
