"""Resuming from a checkpoint reproduces the uninterrupted run exactly (in-process, CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from levers.errors import LeversConfigError
from levers.run import train


def summary(cfg) -> dict:
    return json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())


def test_continuing_from_last_checkpoint_matches_a_straight_run(make_cfg):
    straight = make_cfg("trainer.max_epochs=4", "callbacks.early_stopping=null")
    train(straight)
    first_half = make_cfg("trainer.max_epochs=2", "callbacks.early_stopping=null")
    train(first_half)
    last = Path(first_half.paths.output_dir) / "checkpoints" / "last.ckpt"
    second_half = make_cfg("trainer.max_epochs=4", "callbacks.early_stopping=null", f"ckpt_path={last}")
    second_half.paths.output_dir = first_half.paths.output_dir
    train(second_half)
    expected, resumed = summary(straight), summary(second_half)
    assert resumed["best_value"] == pytest.approx(expected["best_value"], abs=1e-6)
    assert resumed["test"] == pytest.approx(expected["test"], abs=1e-6)
    weights = [torch.load(Path(c.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
               for c in (straight, second_half)]  # fmt: skip
    assert all(torch.allclose(weights[0][k], weights[1][k], atol=1e-6) for k in weights[0])


def test_resume_of_a_directory_without_a_run_is_rejected(make_cfg, tmp_path):
    with pytest.raises(LeversConfigError, match="resume=.*checkpoints/last.ckpt"):
        train(make_cfg(f"resume={tmp_path}"))


def test_checkpoints_load_with_weights_only(make_cfg):
    cfg = make_cfg()
    train(cfg)
    for path in (Path(cfg.paths.output_dir) / "checkpoints").glob("*.ckpt"):
        checkpoint = torch.load(path, weights_only=True)
        assert "state_dict" in checkpoint and "feature_scaler.offset" in checkpoint["state_dict"]
