"""The real `train.py` entry in subprocesses: run directories, multirun, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FAST, ROOT

pytestmark = pytest.mark.slow
QUICK = [*FAST, "trainer.max_epochs=2"]


def launch(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, str]:
    output, _ = process.communicate(timeout=300)
    return process.returncode, output


def test_two_runs_started_together_get_their_own_directories(tmp_path):
    codes_and_logs = [finish(p) for p in [launch(QUICK, tmp_path), launch(QUICK, tmp_path)]]
    assert [code for code, _ in codes_and_logs] == [0, 0], codes_and_logs
    runs = sorted((tmp_path / "outputs" / "runs").iterdir())
    assert len(runs) == 2
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["test"]["test/acc"] > 0.5
        assert (run / ".hydra" / "config.yaml").exists() and (run / "metrics.csv").exists()
        assert (run / "train.log").read_text().count("test metrics") == 1
    assert not (tmp_path / "lightning_logs").exists()


def test_every_log_line_is_printed_once(tmp_path):
    code, output = finish(launch([*QUICK, "verbose=true"], tmp_path))
    assert code == 0
    assert output.count("test metrics (best weights)") == 1
    assert output.count("GPU available") == 1


def test_lightnings_info_lines_go_to_the_log_file_not_the_console_by_default(tmp_path):
    code, output = finish(launch([*QUICK, "hydra.run.dir=run"], tmp_path))
    assert code == 0
    assert "GPU available" not in output and "Tip:" not in output and "test metrics (best weights)" in output
    assert "GPU available" in (tmp_path / "run" / "train.log").read_text()


def test_multirun_grid_runs_every_combination(tmp_path):
    code, output = finish(launch(["-m", "optimizer=adam,sgd", "model.depth=1,2", *QUICK], tmp_path))
    assert code == 0, output
    (sweep,) = (tmp_path / "outputs" / "multirun").iterdir()
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [job.name for job in jobs] == ["0", "1", "2", "3"]
    combos = {tuple(json.loads((job / "summary.json").read_text())["overrides"][:2]) for job in jobs}
    assert combos == {(f"optimizer={opt}", f"model.depth={depth}") for opt in ("adam", "sgd") for depth in (1, 2)}


def test_bad_value_exits_with_one_clear_line_and_no_traceback(tmp_path):
    code, output = finish(launch(["optimizer.lr=-1"], tmp_path))
    assert code == 2
    assert "config error: optimizer.lr=-1.0 is not allowed: > 0" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("override", "line"),
    [
        ("seed=-1", "config error: seed=-1 is not allowed: an integer in 0..4294967295"),
        ("model.depth=1000000", "config error: model.depth=1000000 is not allowed: 0..64 hidden layers"),
        ("data.fold=1", "config error: data.fold=1 is not allowed: null while data.folds=1; set data.folds>=2"),
    ],
)
def test_value_accepted_before_exits_2_with_one_line_naming_the_key(tmp_path, override, line):
    code, output = finish(launch([override], tmp_path))
    assert code == 2 and line in output and "Traceback" not in output


def test_unknown_command_exits_2_listing_the_commands(tmp_path):
    code, output = finish(launch(["frobnicate"], tmp_path))
    assert code == 2 and "Traceback" not in output
    (line,) = output.splitlines()
    assert "'frobnicate'" in line
    for command in ("train", "eval", "predict", "export", "doctor", "report"):
        assert command in line
    assert not (tmp_path / "outputs").exists()  # nothing trained


def test_learning_rate_1e10_ends_diverged_with_exit_1(tmp_path):
    code, output = finish(launch([*QUICK, "optimizer.lr=1e10", "hydra.run.dir=run"], tmp_path))
    assert code == 1 and "diverged: training loss reached" in output and "Traceback" not in output
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "diverged"
    (advice, *_) = json.loads((tmp_path / "run" / "doctor.json").read_text())["advice"]
    assert advice["rule"] == "diverged" and advice["finding"] == "the training loss exploded past its first value"


def test_train_subcommand_and_bare_overrides_still_train(tmp_path):
    for args in (["train", *QUICK, "hydra.run.dir=a"], [*QUICK, "optimizer=sgd", "hydra.run.dir=b"]):
        code, output = finish(launch(args, tmp_path))
        assert code == 0, output
    assert {p.name for p in tmp_path.iterdir()} == {"a", "b"}


@pytest.mark.parametrize("args", [["optimizer=adamm"], ["model.depth=two"], ["train", "frobnicate"]])
def test_command_line_hydra_cannot_compose_exits_2(tmp_path, args):
    code, output = finish(launch(args, tmp_path))
    assert code == 2 and "Traceback" not in output, output


def test_help_exits_0(tmp_path):
    code, output = finish(launch(["--help"], tmp_path))
    assert code == 0 and "optimizer" in output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["optimizer.lrr=0.1"],
            "config error: optimizer.lrr is not a key of optimizer; did you mean lr? "
            "Its keys: lr, weight_decay, backbone_lr_mult, betas, eps, amsgrad",
        ),
        (
            ["-m", "optimizer=adam,nadamm"],
            "config error: optimizer=nadamm is not an option of optimizer; did you mean nadam? "
            "Its options: adagrad, adam, adamax, adamw, nadam, rmsprop, sgd",
        ),
    ],
)
def test_misspelt_key_or_option_exits_2_with_one_line_and_no_hydra_advice(tmp_path, args, line):
    code, output = finish(launch(args, tmp_path))
    assert code == 2
    assert output.splitlines() == [line]  # no "+key" advice, no search path, no HYDRA_FULL_ERROR hint
    assert not list(tmp_path.rglob("summary.json"))  # nothing trained


def test_every_command_is_also_its_own_console_script():
    import tomllib

    from levers import cli

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name, entry in cli.COMMANDS.items():
        module, attribute = scripts[f"levers-{name}"].split(":")
        assert module == "levers.cli" and getattr(cli, attribute) is entry


def test_a_command_script_reads_its_own_command_line(tmp_path):
    script = Path(sys.executable).parent / "levers-doctor"
    result = subprocess.run([str(script), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "usage: levers doctor <run dir>" in result.stderr


def test_the_router_leaves_the_callers_command_line_as_it_was(tmp_path, monkeypatch):
    from levers.cli import main

    monkeypatch.setattr(sys, "argv", ["levers", "untouched"])
    with pytest.raises(SystemExit) as exit_info:
        main(["doctor", str(tmp_path)])
    assert exit_info.value.code == 2 and sys.argv == ["levers", "untouched"]
