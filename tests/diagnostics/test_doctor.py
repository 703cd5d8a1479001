"""The training doctor: each rule fires on a run built to trigger it and names the exact override; a healthy run
gets no advice. (Dead units and symmetry: tests/callbacks/test_monitor.py; divergence: tests/callbacks/test_guard.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from levers.diagnostics import doctor
from levers.run import train

CASES = {
    "still_improving": (["trainer.max_epochs=3"], "trainer.max_epochs=6"),
    "large_gap": (["data.limit=150", "regularization=none", "trainer.max_epochs=30"], "regularization.dropout=0.2"),
    "flat_from_start": (["optimizer=sgd", "optimizer.lr=1e-6"], "optimizer.lr=auto"),
    "unscaled_features": (["data=wine", "scaling=none"], "scaling=standard"),
    "exploding_gradients": (
        [
            *("data=diabetes", "optimizer=sgd", "optimizer.lr=0.02", "regularization=none"),
            *("callbacks=monitor", "callbacks.monitor.every_n_steps=2", "callbacks.monitor.plot=false"),
        ],
        "trainer.gradient_clip_val=1.0",
    ),
}


def advice_of(cfg) -> dict[str, dict]:
    saved = json.loads((Path(cfg.paths.output_dir) / "doctor.json").read_text())
    return {item["rule"]: item for item in saved["advice"]}


@pytest.mark.parametrize("rule", list(CASES))
def test_rule_fires_on_a_run_built_to_trigger_it(make_cfg, rule):
    overrides, expected = CASES[rule]
    cfg = make_cfg(*overrides)
    train(cfg)
    advice = advice_of(cfg)
    assert rule in advice, advice
    assert expected in advice[rule]["overrides"]


def test_healthy_run_gets_no_advice(make_cfg, caplog):
    # A well-set-up run that early stopping ends (breast_cancer: 13 batches an epoch, so it stays quick).
    cfg = make_cfg("data=breast_cancer", "callbacks.early_stopping.patience=3", "trainer.max_epochs=60")
    with caplog.at_level("INFO", logger="levers.diagnostics.doctor"):
        train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert summary["epochs_run"] < 60  # early stopping ended it
    assert advice_of(cfg) == {}
    assert not [r for r in caplog.records if r.name == "levers.diagnostics.doctor"]


def test_doctor_command_reads_a_run_directory(make_cfg, capsys):
    cfg = make_cfg("data=wine", "scaling=none")
    train(cfg)
    (Path(cfg.paths.output_dir) / "doctor.json").unlink()
    assert doctor.main([cfg.paths.output_dir]) == 0
    assert "scaling=standard" in capsys.readouterr().out
    assert "unscaled_features" in advice_of(cfg)


def test_doctor_command_rejects_a_directory_without_a_run(tmp_path, capsys):
    assert doctor.main([str(tmp_path)]) == 2
    assert "usage: levers doctor <run dir>" in capsys.readouterr().err


def test_epoch_series_skips_step_rows_of_the_monitor():
    rows = [
        {"epoch": "0", "step": "39", "train/loss": "1.5"},
        {"epoch": "", "step": "40", "train/loss": "", "monitor/hidden.1/dead_frac": "0.1"},
        {"epoch": "1", "step": "79", "train/loss": "0.5"},
    ]
    assert doctor.epoch_series(rows, "train/loss") == [1.5, 0.5]
