"""Diagnostics through the real command line: saved config of optimizer.lr=auto, exit codes, `levers doctor`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.conftest import FAST, ROOT
from tests.e2e.test_cli import finish, launch

pytestmark = pytest.mark.slow

# `levers doctor <dir>` as the console script runs it, then whether Lightning was imported on the way.
DOCTOR = """import sys
from levers.cli import main
try:
    main()
finally:
    print('lightning imported:', 'pytorch_lightning' in sys.modules)
"""


def only_run(tmp_path: Path) -> Path:
    (run,) = (tmp_path / "outputs" / "runs").iterdir()
    return run


def test_auto_lr_is_written_into_the_saved_config_and_summary(tmp_path):
    code, output = finish(launch([*FAST, "trainer.max_epochs=2", "optimizer.lr=auto"], tmp_path))
    assert code == 0, output
    run = only_run(tmp_path)
    chosen = json.loads((run / "summary.json").read_text())["lr_auto"]["lr"]
    assert OmegaConf.load(run / ".hydra" / "config.yaml").optimizer.lr == chosen
    assert "optimizer.lr=auto" in OmegaConf.load(run / ".hydra" / "overrides.yaml")
    assert f"training with optimizer.lr={chosen:.3g}" in output
    assert (run / "lr_find.png").stat().st_size > 0 and (run / "lr_find.json").exists()


def test_diverging_run_exits_non_zero_with_the_guard_message_and_the_doctor_reads_it(tmp_path):
    nan_only = "callbacks.nonfinite_guard.divergence_factor=null"  # SGD at lr 10 explodes past 1e4x before NaN
    code, output = finish(launch([*FAST, "optimizer=sgd", "optimizer.lr=10", nan_only], tmp_path))
    assert code == 1
    assert "diverged: training loss became nan at step" in output and "Traceback" not in output
    assert "doctor: the training loss became NaN/inf -> try: optimizer.lr=1.0 | trainer.gradient_clip_val=1.0" in output
    run = only_run(tmp_path)
    assert json.loads((run / "summary.json").read_text())["status"] == "diverged"
    doctor = subprocess.run(
        [sys.executable, "-c", DOCTOR, "doctor", str(run)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert doctor.returncode == 0, doctor.stderr
    assert "optimizer.lr=1.0 | trainer.gradient_clip_val=1.0" in doctor.stdout
    assert "lightning imported: False" in doctor.stdout
