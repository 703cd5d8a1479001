"""`python train.py --help`: a help that lists every lever (levers.config.help)."""

from __future__ import annotations

import subprocess
import sys

from levers.config.help import groups_help
from tests.conftest import ROOT, group_options


def test_help_lists_every_option_of_every_group_with_its_description():
    listing = groups_help()
    for group in ("data", "optimizer", "logger", "trainer"):
        for option in group_options(group):
            assert f"\n  {option} " in f"\n{listing}", (group, option)
    assert "ddp_cpu          Two CPU processes over gloo" in listing
    assert "schema" not in listing


def test_train_py_help_prints_the_groups_and_the_completion_hint():
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--help"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "== Groups (group=option) ==" in result.stdout
    assert "  wage " in result.stdout and "levers predict ckpt_path=" in result.stdout
    assert 'eval "$(python train.py -sc install=bash)"' in result.stdout


def test_help_describes_global_overlays_by_their_comment_not_the_package_line():
    from levers.config.help import describe_option
    from tests.conftest import CONF

    description = describe_option(CONF / "experiment" / "digits_cnn.yaml")
    assert description.startswith("Digits with a small CNN") and "@package" not in description
