"""`trainer.compile=true`: the same training as without it, and checkpoints that load into an uncompiled model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from levers.run import train
from tests.conftest import compose_cfg, levers_command
from tests.in_training import FinalWeights

# No dropout: compiled dropout draws its masks from another generator, so only a deterministic network can match.
RUN = ("data=wine", "regularization=none", "trainer.max_epochs=3", "callbacks.early_stopping=null", "seed=3")


def logged(run: Path, column: str) -> list[float]:
    with (run / "metrics.csv").open() as rows:
        return [float(row[column]) for row in csv.DictReader(rows) if row.get(column)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[bool, Path]:
    """The same short run, compiled and not."""
    out = {}
    for compiled in (False, True):
        cfg = compose_cfg(tmp_path_factory.mktemp(f"compile_{compiled}"), *RUN, f"trainer.compile={compiled}")
        final = FinalWeights()
        train(cfg, extra_callbacks=[final])
        # nn.Module.compile keeps the module and stores the compiled call beside it
        assert (final.module.net._compiled_call_impl is not None) == compiled
        out[compiled] = Path(cfg.paths.output_dir)
    return out


@pytest.mark.slow  # TorchInductor compiles C++ kernels: about 30 s on 2 CPU cores with a cold cache
def test_a_compiled_network_follows_the_same_loss_trajectory(runs):
    for column in ("train/loss", "val/loss"):
        plain, compiled = logged(runs[False], column), logged(runs[True], column)
        assert len(plain) == 3 and plain[0] != plain[-1]
        assert compiled == pytest.approx(plain, rel=1e-4), column


@pytest.mark.slow
def test_a_compiled_runs_checkpoint_loads_into_an_uncompiled_model(runs, tmp_path):
    summary = json.loads((runs[True] / "summary.json").read_text())
    state = torch.load(summary["best_checkpoint"], weights_only=True)["state_dict"]
    assert state and not any("_orig_mod" in name for name in state)
    evaluated = levers_command("eval", tmp_path / "eval", ckpt_path=summary["best_checkpoint"])
    assert evaluated["test"]["test/loss"] == pytest.approx(summary["test"]["test/loss"], rel=1e-5)
