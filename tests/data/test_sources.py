"""Row selection from a source (data.classes, data.limit) inside a real (short) training run."""

from __future__ import annotations

from tests.in_training import run_with


def test_classes_and_limit_start_from_a_simple_sub_task(make_cfg):
    summary, _ = run_with(make_cfg, "data.classes=[0,1]", "data.limit=200")
    assert (summary["task"], summary["loss"]) == ("binary", "bce")
    assert sum(summary["split_sizes"].values()) == 200
    assert summary["test"]["test/acc"] > 0.95
