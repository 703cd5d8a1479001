"""Loss options inside real (short) training runs."""

from __future__ import annotations

from tests.in_training import run_with


def test_mae_and_huber_beat_mse_on_the_heavy_tailed_target_test_mae(make_cfg):
    maes = {}
    for loss in ("mse", "mae", "huber"):
        summary, _ = run_with(
            make_cfg, "data=randhie", f"loss={loss}", "data.batch_size=256", "trainer.max_epochs=8", "seed=0"
        )
        maes[loss] = summary["test"]["test/mae"]
    assert maes["mae"] < maes["mse"] and maes["huber"] < maes["mse"], maes
