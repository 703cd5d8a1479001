"""`levers doctor <run dir> --verify`: the top suggestions are tried in short, equal-budget trials, and the run
directory's own overrides (a file) are replayed only when they cannot choose code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from levers.diagnostics import doctor
from levers.diagnostics.advice import Suggestion
from levers.diagnostics.verify import Trial, _judge, candidates, untrusted_override
from tests.conftest import FAST, ROOT


@pytest.mark.parametrize(
    "override",
    [
        "model._target_=os.system",
        "+callbacks.evil._target_=builtins.exec",
        "model._args_=[rm]",
        "data.path=${oc.env:HOME}",
        "model=../../tmp/evil",
        "hydra.run.dir=/tmp/x",
    ],
)
def test_an_override_that_could_choose_code_is_not_replayed(override):
    assert untrusted_override(override) is not None


@pytest.mark.parametrize("override", ["optimizer.lr=0.1", "model=rnn", "data.classes=[0,1]", "~callbacks.swa"])
def test_an_ordinary_override_is_replayed(override):
    assert untrusted_override(override) is None


def test_candidates_skip_what_an_equal_budget_cannot_judge_and_keep_the_first_top_distinct():
    suggestions = [
        Suggestion("trainer.max_epochs", 200, "more epochs"),
        Suggestion("optimizer.lr", 0.01, "lower"),
        Suggestion("optimizer.lr", 0.01, "lower, again"),
        Suggestion("callbacks", "monitor", "look"),
        Suggestion("regularization.dropout", 0.2, "more"),
        Suggestion("model.width", 32, "narrower"),
    ]
    chosen, skipped = candidates(suggestions, top=2)
    assert [s.override for s in chosen] == ["optimizer.lr=0.01", "regularization.dropout=0.2"]
    assert [s["override"] for s in skipped] == ["trainer.max_epochs=200", "callbacks=monitor"]


@pytest.mark.parametrize(
    ("mode", "trial_value", "helped"),
    [("min", 0.5, True), ("min", 1.5, False), ("max", 0.9, True), ("max", 0.7, False), ("min", 1.0, False)],
)
def test_a_trial_helped_only_when_it_beat_the_baseline_in_the_monitored_direction(mode, trial_value, helped):
    base_value = 1.0 if mode == "min" else 0.8
    baseline = Trial("", "baseline", "b", 0, base_value)
    judged = _judge(Trial("x=1", "r", "t", 0, trial_value), baseline, mode)
    assert judged.helped is helped and judged.delta == pytest.approx(trial_value - base_value)


def test_a_failed_trial_did_not_help():
    assert _judge(Trial("x=1", "r", "t", 1, None), Trial("", "b", "b", 0, 1.0), "min").helped is False


def test_verify_refuses_a_run_directory_whose_overrides_name_code(tmp_path, capsys):
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text("- model._target_=os.system\n")
    (tmp_path / "summary.json").write_text(json.dumps({"status": "diverged", "error": "loss is nan"}))
    assert doctor.main([str(tmp_path), "--verify"]) == 2
    assert "refused to replay model._target_=os.system" in capsys.readouterr().err
    assert not (tmp_path / "verify").exists()


@pytest.mark.slow
def test_verify_trains_the_suggestion_and_records_that_it_helped(tmp_path):
    """Wine with scaling=none: the doctor names the scaling, and the trial with scaling=standard beats the run as
    it was at the same budget; each trial is a run directory of its own."""
    run = tmp_path / "run"
    args = [*FAST, "data=wine", "scaling=none", f"hydra.run.dir={run}"]
    trained = subprocess.run([sys.executable, str(ROOT / "train.py"), *args], capture_output=True, text=True)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    command = [sys.executable, "-m", "levers", "doctor", str(run), "--verify", "--epochs", "2"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verify: scaling=standard: helped" in done.stdout
    verified = json.loads((run / "doctor.json").read_text())["verified"]
    assert verified["budget_epochs"] == 2
    (trial,) = verified["trials"]
    assert trial["override"] == "scaling=standard" and trial["helped"] is True
    assert trial["best_value"] < verified["baseline"]["best_value"]
    for entry in (trial, verified["baseline"]):
        summary = json.loads((Path(entry["run_dir"]) / "summary.json").read_text())
        assert summary["epochs_run"] == 2


def test_a_change_of_loss_is_not_judged_on_a_val_loss_it_changes():
    chosen, skipped = candidates([Suggestion("loss", "huber", "outliers"), Suggestion("optimizer.lr", 0.01, "x")], 3)
    assert [s.override for s in chosen] == ["optimizer.lr=0.01"]
    assert skipped[0]["override"] == "loss=huber" and "not comparable" in skipped[0]["why"]
