"""`levers auto`: the practice guide's recipe as real runs, within an explicit budget, ending in a config a user can
rerun and a page a reader can follow."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from levers.autopilot.command import main
from levers.autopilot.steps import GROWTH, Budget
from levers.errors import LeversConfigError
from tests.conftest import CONF, ROOT
from tests.sweeps.browser import render

GROWTH_NAMES = [name for name, _ in GROWTH]


@pytest.fixture(scope="module")
def wine_unscaled(tmp_path_factory) -> tuple[Path, dict]:
    """One autopilot run shared by the tests below: wine with its features left unscaled (a fault the doctor
    names), 60 epochs in all."""
    folder = tmp_path_factory.mktemp("auto") / "wine"
    assert main(["data=wine", "scaling=none", "budget=60", f"out={folder}"]) == 0
    return folder, json.loads((folder / "auto.json").read_text())


@pytest.mark.parametrize(("text", "budget"), [("200", Budget(200, "epochs")), ("90s", Budget(90, "seconds"))])
def test_the_budget_is_epochs_or_seconds(text, budget):
    assert Budget.parse(text) == budget


@pytest.mark.parametrize("text", ["abc", "0", "5", "-3s"])
def test_a_bad_budget_is_refused_naming_the_key(text):
    with pytest.raises(LeversConfigError, match="budget="):
        Budget.parse(text)


def test_keys_the_autopilot_sets_itself_are_refused(tmp_path, capsys):
    assert main(["model.depth=3", f"out={tmp_path}"]) == 2
    assert "model.depth" in capsys.readouterr().err


def test_it_starts_from_a_linear_model_and_stops_growing_once_growth_does_not_help(wine_unscaled):
    _, record = wine_unscaled
    steps = record["steps"]
    assert steps[0]["name"] == GROWTH_NAMES[0] and "model.depth=0" in steps[0]["overrides"]
    for step, following in itertools.pairwise(steps):
        if step["name"] in GROWTH_NAMES[1:] and not step["kept"]:
            assert following["name"] not in GROWTH_NAMES  # no bigger model after one that did not help


def test_every_step_is_a_real_run_and_the_best_step_has_the_best_validation_value(wine_unscaled):
    _, record = wine_unscaled
    values = []
    for step in record["steps"]:
        summary = json.loads((Path(step["run_dir"]) / "summary.json").read_text())
        assert summary["best_value"] == pytest.approx(step["value"])
        values.append(step["value"])
    assert record["steps"][record["best_step"] - 1]["value"] == min(values)  # val/loss: lower is better


def test_the_winner_is_retrained_only_when_its_step_used_every_epoch_it_was_given(wine_unscaled):
    _, record = wine_unscaled
    steps = record["steps"]
    retrains = [i for i, step in enumerate(steps) if step["name"].startswith("retrain")]
    before = steps[: retrains[0]] if retrains else steps
    best_before = min((s for s in before if s["value"] is not None), key=lambda s: s["value"])
    assert bool(retrains) == (best_before["epochs"] >= best_before["max_epochs"])


def test_the_budget_bounds_the_epochs_of_all_steps(wine_unscaled):
    _, record = wine_unscaled
    assert sum(step["epochs"] for step in record["steps"]) <= 60


def test_the_doctors_verified_advice_is_applied_when_it_helps(wine_unscaled):
    _, record = wine_unscaled
    doctor = [step for step in record["steps"] if step["name"].startswith("doctor")]
    assert any("scaling=standard" in step["overrides"] for step in doctor)  # the unscaled features, named
    assert "scaling=standard" in record["final_overrides"] and "scaling=none" not in record["final_overrides"]


def test_the_experiment_file_composes_to_the_final_config(wine_unscaled):
    folder, record = wine_unscaled
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        rerun = compose("train", overrides=["experiment=auto", f"hydra.searchpath=[file://{folder / 'conf'}]"])
        final = compose("train", overrides=record["final_overrides"])
    for key in ("data.name", "scaling.method", "model.depth", "model.width", "optimizer.lr"):
        assert rerun[key.split(".")[0]][key.split(".")[1]] == final[key.split(".")[0]][key.split(".")[1]], key


@pytest.mark.slow  # starts Chromium
def test_the_page_renders_in_a_browser_with_every_step(wine_unscaled, tmp_path):
    folder, record = wine_unscaled
    rendered = render(folder / "auto.html", tmp_path, window="1300,1100")
    assert rendered.errors == [] and rendered.console == []
    page = (folder / "auto.html").read_text()
    assert all(Path(step["run_dir"]).name in page for step in record["steps"])
    shot = matplotlib.image.imread(rendered.screenshot)
    assert np.mean(shot[..., :3] < 0.9) > 0.02  # text, table rules and bars: a blank page has no ink


def test_a_table_file_works_as_any_other_data(tmp_path):
    folder = tmp_path / "penguins"
    args = ["data=table", f"data.path={ROOT / 'examples' / 'penguins.csv'}", "data.target=species",
            "data.impute=median", "budget=30", f"out={folder}"]  # fmt: skip
    assert main(args) == 0
    record = json.loads((folder / "auto.json").read_text())
    assert record["final_test"]["test/acc"] > 0.8
