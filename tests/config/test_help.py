"""`python train.py --help`: a help that lists every lever (levers.config.help)."""

from __future__ import annotations

import re
import subprocess
import sys

from levers.config.help import groups_help
from tests.conftest import ROOT, group_options


def test_help_lists_every_option_of_every_group_with_its_description():
    listing = groups_help()
    for group in ("data", "optimizer", "logger", "trainer"):
        for option in group_options(group):
            assert f"\n  {option} " in f"\n{listing}", (group, option)
    assert re.search(r"\n  ddp_cpu +Two CPU processes over gloo", listing)
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


def test_every_scaling_option_has_its_own_one_line_description():
    below = groups_help().split("scaling:\n")[1].splitlines()
    lines = [line for line in below if not line.startswith("   ")][:5]  # a long description wraps onto indented lines
    descriptions = [line.split(maxsplit=1)[1] for line in lines]
    assert [line.split()[0] for line in lines] == ["decimal", "minmax", "none", "robust", "standard"]
    assert len(set(descriptions)) == 5
    assert descriptions[4].startswith("z-score per feature: (x - mean) / std")


def test_a_description_is_never_cut_mid_sentence_but_wrapped_under_itself():
    listing = groups_help(width=118)
    assert all(len(line) <= 118 for line in listing.splitlines())
    assert "..." not in listing
    fashion = listing.split("\n  fashion_mnist ")[1].splitlines()[0].strip()
    assert fashion == "Fashion-MNIST: 70,000 28x28 grey images of clothes, 10 classes."
    monitor = listing.split("\n  monitor ")[1].splitlines()[:2]
    assert monitor[1].strip().endswith("(metrics.csv, monitor.json, monitor.png).")  # the sentence, on two lines


def test_description_is_the_first_sentence_of_a_comment_that_runs_over_lines(tmp_path):
    from levers.config.help import describe_option

    option = tmp_path / "opt.yaml"
    option.write_text(
        "# One lever, e.g. a long one: see https://example.org for\n# more. A second sentence.\n# Other.\nkey: 1\n"
    )
    assert describe_option(option) == "One lever, e.g. a long one: see for more."
