"""The sweep callback records failures in summary.json."""

from __future__ import annotations

import json

from omegaconf import OmegaConf

from levers.errors import LeversConfigError
from levers.sweeps.hydra_callback import record_failure


def job_config(tmp_path):
    return OmegaConf.create({
        "monitor": "val/acc", "monitor_mode": "max", "seed": 1, "data": {"name": "digits"},
        "hydra": {"runtime": {"output_dir": str(tmp_path)}, "job": {"num": 3},
                  "overrides": {"task": ["loss=mse", "optimizer=sgd"]}},
    })  # fmt: skip


def test_failure_before_training_leaves_a_failed_summary_with_the_error(tmp_path):
    record_failure(job_config(tmp_path), LeversConfigError("loss", "mse", "cross_entropy"))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["best_value"] is None
    assert summary["error"] == "LeversConfigError: loss='mse' is not allowed: cross_entropy"
    assert summary["overrides"] == ["loss=mse", "optimizer=sgd"] and summary["monitor"] == "val/acc"


def test_failure_during_training_keeps_what_the_run_wrote(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"status": "failed", "best_value": 0.7, "epochs_run": 5}))
    record_failure(job_config(tmp_path), RuntimeError("boom"))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["status"], summary["best_value"], summary["epochs_run"]) == ("failed", 0.7, 5)
    assert summary["error"] == "RuntimeError: boom"


def test_a_pruned_trial_is_recorded_as_pruned_not_failed(tmp_path):
    import optuna

    record_failure(job_config(tmp_path), optuna.TrialPruned("pruned at epoch 4"))
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "pruned"
