"""A trained checkpoint rebuilt without its run: evaluated, used for prediction, exported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from levers.errors import LeversConfigError
from levers.run import train
from levers.serving.checkpoint import restore
from levers.serving.evaluate import evaluate
from levers.serving.export import export, sidecar
from levers.serving.predict import encode_input, predict_file, predict_frame
from levers.serving.predictor import build_predictor
from tests.conftest import CONF, FAST, ROOT, levers_command
from tests.exported import exported_outputs

PENGUINS = str(ROOT / "examples" / "penguins.csv")
RUNS = {
    "regression": ["data=wage", "data.limit=400"],
    "binary": ["data=wage", "data.target=health_ins", "data.limit=400"],
    "multiclass": ["data=table", f"data.path={PENGUINS}", "data.target=species", "data.impute=median"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """One short real training run per task kind; returns each run's directory."""
    out = {}
    for kind, overrides in RUNS.items():
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("train", overrides=[*FAST, "trainer.max_epochs=2", *overrides])
        with open_dict(cfg):
            cfg.paths.output_dir = str(tmp_path_factory.mktemp(kind))
        train(cfg)
        out[kind] = Path(cfg.paths.output_dir)
    return out


def best_checkpoint(run: Path) -> str:
    return json.loads((run / "summary.json").read_text())["best_checkpoint"]


def test_checkpoint_loads_weights_only_with_the_rebuild_recipe(runs):
    checkpoint = torch.load(best_checkpoint(runs["binary"]), weights_only=True)
    recipe = checkpoint["levers"]
    assert recipe["task"]["kind"] == "binary" and recipe["class_names"] == ["1. Yes", "2. No"]
    assert recipe["config"]["data"]["target"] == "health_ins"
    assert recipe["encoder"]["categories"]["jobclass"] == ["1. Industrial", "2. Information"]


@pytest.mark.parametrize("kind", list(RUNS))
def test_eval_reproduces_the_runs_test_metrics(runs, kind):
    summary = json.loads((runs[kind] / "summary.json").read_text())
    metrics = evaluate(restore(summary["best_checkpoint"]))
    assert metrics.keys() == summary["test"].keys()
    for name, value in summary["test"].items():
        assert metrics[name] == pytest.approx(value, abs=1e-6), name


def test_predict_writes_class_probabilities_with_the_class_names(runs, tmp_path):
    predictions = predict_file(restore(best_checkpoint(runs["multiclass"])), PENGUINS, str(tmp_path / "p.csv"))
    written = pd.read_csv(tmp_path / "p.csv")
    assert list(written.columns) == ["prediction", "prob_Adelie", "prob_Chinstrap", "prob_Gentoo"]
    assert len(written) == 344
    np.testing.assert_allclose(written.iloc[:, 1:].sum(axis=1), 1.0, atol=1e-5)
    truth = pd.read_csv(PENGUINS)["species"]
    assert (predictions["prediction"] == truth).mean() > 0.8


def test_predict_reports_regression_in_the_targets_units(runs, tmp_path):
    wage = ROOT / "examples" / "wage.csv"
    predictions = predict_file(restore(best_checkpoint(runs["regression"])), str(wage), str(tmp_path / "p.csv"))
    assert list(predictions.columns) == ["predicted_wage"]
    assert 60 < predictions["predicted_wage"].mean() < 160  # wages average ~112 (thousand dollars)


def test_predict_applies_the_saved_encoding_and_scaling(runs):
    restored = restore(best_checkpoint(runs["binary"]))
    frame = pd.read_csv(ROOT / "examples" / "wage.csv").head(5)
    with torch.no_grad():
        logits = restored.module(restored.module.feature_scaler(torch.from_numpy(encode_input(restored, frame))))
        probabilities = build_predictor(restored.module)(torch.from_numpy(encode_input(restored, frame)))
    torch.testing.assert_close(probabilities[:, 1], torch.sigmoid(logits[:, 0]))


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
@pytest.mark.parametrize("kind", ["regression", "multiclass"])
def test_exported_model_matches_the_checkpoint_within_1e_5(runs, tmp_path, fmt, kind):
    restored = restore(best_checkpoint(runs[kind]))
    source = ROOT / "examples" / ("wage.csv" if kind == "regression" else "penguins.csv")
    features = torch.from_numpy(encode_input(restored, pd.read_csv(source)))
    with torch.no_grad():
        expected = build_predictor(restored.module)(features).numpy()
    path = export(restored, fmt, str(tmp_path / f"model.{fmt}"))
    exported = exported_outputs(path, fmt, features)
    # Regression outputs are in the target's units (wage ~100): compare in its standard deviations, as float32
    # carries ~7 digits. Probabilities are compared as they are.
    unit = restored.module.target_scaler.scale.numpy() if kind == "regression" else 1.0
    np.testing.assert_allclose(exported / unit, expected / unit, atol=1e-5, rtol=0)
    assert json.loads(sidecar(path).read_text())["task"] == restored.task.kind


def test_two_formats_of_one_checkpoint_keep_a_description_each(runs, tmp_path):
    checkpoint = shutil.copy(best_checkpoint(runs["multiclass"]), tmp_path / "model.ckpt")
    restored = restore(checkpoint)
    models = [export(restored, fmt) for fmt in ("torchscript", "onnx")]  # beside the checkpoint, one stem
    assert [model.name for model in models] == [restored.path.stem + ".pt", restored.path.stem + ".onnx"]
    for fmt, model in zip(("torchscript", "onnx"), models, strict=True):
        description = json.loads((model.parent / f"{model.name}.json").read_text())
        assert description["format"] == fmt and description["model"] == model.name
        assert description["output"] == ["prob_Adelie", "prob_Chinstrap", "prob_Gentoo"]


def test_cli_predict_with_a_missing_key_exits_2_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from levers.cli import main; main()", "predict", "ckpt_path=x.ckpt"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert "config error: input=None is not allowed: set, e.g. `levers predict ckpt_path=... input=..." in output
    assert "Traceback" not in output


def test_levers_eval_and_predict_commands_run_on_a_checkpoint(runs, tmp_path, monkeypatch, capsys):
    from levers.cli import COMMANDS

    checkpoint = best_checkpoint(runs["multiclass"])
    monkeypatch.setattr(sys, "argv", ["levers", f"ckpt_path={checkpoint}", f"hydra.run.dir={tmp_path / 'eval'}"])
    COMMANDS["eval"]()
    printed = dict(line.split("\t") for line in capsys.readouterr().out.splitlines() if "\t" in line)
    summary = json.loads((runs["multiclass"] / "summary.json").read_text())
    assert float(printed["test/acc"]) == pytest.approx(summary["test"]["test/acc"], abs=1e-6)
    written = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert written["test"] == pytest.approx(summary["test"], abs=1e-6) and written["status"] == "completed"
    output = tmp_path / "out" / "preds.csv"
    argv = ["levers", f"ckpt_path={checkpoint}", f"input={PENGUINS}", f"output={output}", f"hydra.run.dir={tmp_path}"]
    monkeypatch.setattr(sys, "argv", argv)
    COMMANDS["predict"]()
    assert len(pd.read_csv(output)) == 344
    assert json.loads((tmp_path / "summary.json").read_text())["rows"] == 344


def test_eval_on_another_labelled_file_tests_every_row_with_the_saved_encoding(runs, tmp_path):
    checkpoint = best_checkpoint(runs["multiclass"])
    penguins = pd.read_csv(PENGUINS).dropna()
    subset = penguins[penguins["species"] != "Gentoo"].iloc[:50]  # fewer categories than in training
    subset.to_csv(tmp_path / "subset.csv", index=False)
    summary = levers_command("eval", tmp_path / "eval", ckpt_path=checkpoint, **{"data.path": tmp_path / "subset.csv"})
    restored = restore(checkpoint)
    probabilities = predict_frame(restored, subset)
    accuracy = float((probabilities["prediction"].to_numpy() == subset["species"].to_numpy()).mean())
    assert summary["test"]["test/acc"] == pytest.approx(accuracy, abs=1e-6)
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["rows"] == str(tmp_path / "subset.csv")


def test_eval_on_a_file_with_an_unknown_class_names_the_label(runs, tmp_path):
    frame = pd.read_csv(PENGUINS).dropna().iloc[:20].assign(species="Emperor")
    frame.to_csv(tmp_path / "emperor.csv", index=False)
    with pytest.raises(LeversConfigError, match=r"^data.path=.*checkpoint's classes .*found \['Emperor'\]"):
        levers_command(
            "eval", tmp_path, ckpt_path=best_checkpoint(runs["multiclass"]), **{"data.path": tmp_path / "emperor.csv"}
        )


def test_eval_refuses_a_data_key_the_checkpoints_data_set_lacks(make_cfg, tmp_path):
    cfg = make_cfg("data=wine", "trainer.max_epochs=1")
    train(cfg)
    checkpoint = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    with pytest.raises(LeversConfigError, match=r"^data.path=.*a data key of this checkpoint's data set \(wine\)"):
        levers_command("eval", tmp_path, ckpt_path=checkpoint, **{"data.path": PENGUINS})


def test_multi_target_regression_trains_and_predicts_every_target(make_cfg, tmp_path):
    cfg = make_cfg("data=wage", "data.target=[wage,age]", "data.limit=300", "trainer.max_epochs=1")
    train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert summary["task"] == "regression" and set(summary["test"]) >= {"test/mae", "test/r2"}
    restored = restore(summary["best_checkpoint"])
    wage = ROOT / "examples" / "wage.csv"
    predictions = predict_file(restored, str(wage), str(tmp_path / "p.csv"))
    assert list(predictions.columns) == ["predicted_wage", "predicted_age"]
    assert 20 < predictions["predicted_age"].mean() < 65  # ages in the data: 18..80, in years, not scaled units


def test_eval_works_on_a_bundled_array_data_set(make_cfg, tmp_path):
    cfg = make_cfg("data=wine", "trainer.max_epochs=2")
    train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert evaluate(restore(summary["best_checkpoint"])) == pytest.approx(summary["test"], abs=1e-6)
