"""The training doctor: each rule fires on a run built to trigger it and names the exact override; a healthy run
gets no advice. (Dead units and symmetry: tests/callbacks/test_monitor.py; divergence: tests/callbacks/test_guard.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from levers.diagnostics import doctor
from levers.diagnostics.advice import Suggestion, run_overrides
from levers.run import train
from tests.conftest import group_options

CASES = {
    "still_improving": (["trainer.max_epochs=3"], "trainer.max_epochs=6"),
    "large_gap": (["data.limit=150", "regularization=none", "trainer.max_epochs=30"], "regularization.dropout=0.2"),
    "flat_from_start": (["optimizer=sgd", "optimizer.lr=1e-6"], "optimizer.lr=auto"),
    "unscaled_features": (["data=wine", "scaling=none"], "scaling=standard"),
    "too_small": (["model.depth=1", "model.width=1", "trainer.max_epochs=4"], "model.width=64"),
    "exploding_gradients": (
        [
            *("data=diabetes", "optimizer=sgd", "optimizer.lr=0.02", "regularization=none"),
            *("callbacks=monitor", "callbacks.monitor.every_n_steps=2", "callbacks.monitor.plot=false"),
        ],
        "trainer.gradient_clip_val=1.0",
    ),
}


def advice_of(cfg) -> dict[str, dict]:
    saved = json.loads((Path(cfg.paths.output_dir) / "doctor.json").read_text())
    return {item["rule"]: item for item in saved["advice"]}


@pytest.mark.parametrize("rule", list(CASES))
def test_rule_fires_on_a_run_built_to_trigger_it(make_cfg, rule):
    overrides, expected = CASES[rule]
    cfg = make_cfg(*overrides)
    train(cfg)
    advice = advice_of(cfg)
    assert rule in advice, advice
    assert expected in advice[rule]["overrides"]


def test_healthy_run_gets_no_advice(make_cfg, caplog):
    # A well-set-up run that early stopping ends (breast_cancer: 13 batches an epoch, so it stays quick).
    cfg = make_cfg("data=breast_cancer", "callbacks.early_stopping.patience=3", "trainer.max_epochs=60")
    with caplog.at_level("INFO", logger="levers.diagnostics.doctor"):
        train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert summary["epochs_run"] < 60  # early stopping ended it
    assert advice_of(cfg) == {}
    assert not [r for r in caplog.records if r.name == "levers.diagnostics.doctor"]


def test_doctor_command_reads_a_run_directory(make_cfg, capsys):
    cfg = make_cfg("data=wine", "scaling=none")
    train(cfg)
    (Path(cfg.paths.output_dir) / "doctor.json").unlink()
    assert doctor.main([cfg.paths.output_dir]) == 0
    assert "scaling=standard" in capsys.readouterr().out
    assert "unscaled_features" in advice_of(cfg)


def test_doctor_command_rejects_a_directory_without_a_run(tmp_path, capsys):
    assert doctor.main([str(tmp_path)]) == 2
    assert "usage: levers doctor <run dir>" in capsys.readouterr().err


def test_epoch_series_skips_step_rows_of_the_monitor():
    rows = [
        {"epoch": "0", "step": "39", "train/loss": "1.5"},
        {"epoch": "", "step": "40", "train/loss": "", "monitor/hidden.1/dead_frac": "0.1"},
        {"epoch": "1", "step": "79", "train/loss": "0.5"},
    ]
    assert doctor.epoch_series(rows, "train/loss") == [1.5, 0.5]


# --- every suggestion is a valid override for the run it looked at -----------------------------------------------

FALLING = [2.0 - 0.001 * i for i in range(1000)]
COMPLETED = {"status": "completed", "epochs_run": 20, "best_epoch": 19}
FACTS = {"max_epochs": 20, "lr": 0.01, "dropout": 0.0, "width": 64, "init": "xavier", "scaling": "none"}
MONITOR = {
    "hidden.1": {
        "stats": {"dead_frac": [0.9], "grad_norm": [0.1, 0.1, 0.1, 50.0], "identical_units": [3]},
    }
}


def evidence(summary: dict, train_loss: list[float], val_loss: list[float] | None = None, **facts) -> doctor.Evidence:
    return doctor.Evidence(summary, {**FACTS, **facts}, train_loss, val_loss or [], MONITOR)


# one Evidence per rule, built to trigger it (the rules read data, so none of these needs a training run)
TRIGGERS = {
    "diverged": evidence({"status": "diverged", "error": "ExplodedLoss"}, [1.0, 5.0]),
    "best_epoch_first": evidence({**COMPLETED, "best_epoch": 0}, [1.0, 0.9, 0.8], [0.5, 0.6, 0.7]),
    "unscaled_features": evidence({**COMPLETED, "feature_spread": 1e4}, [1.0, 0.9, 0.8]),
    "outlier_targets": evidence(
        {**COMPLETED, "task": "regression", "loss": "mse", "target_tails": 0.05}, [1.0, 0.9, 0.8]
    ),
    "dead_units": evidence(COMPLETED, [1.0, 0.9, 0.8]),
    "symmetry": evidence(COMPLETED, [1.0, 0.9, 0.8]),
    "exploding_gradients": evidence(COMPLETED, [1.0, 0.9, 0.8]),
    "flat_from_start": evidence({**COMPLETED, "best_epoch": 2}, [1.0, 1.0, 0.99], init="xavier"),
    "too_small": evidence(COMPLETED, [2.3, 2.0, 1.9], [2.2, 2.0, 1.95], width=1, depth=1),
    "slow_learning": evidence(COMPLETED, [3.0 - 0.04 * i for i in range(20)], lr=1e-6),
    "still_improving": evidence(COMPLETED, [2.0 - 0.05 * i for i in range(20)]),
    "large_gap": evidence(COMPLETED, [1.0] + [0.1] * 19, [1.0] + [0.9] * 19),
}
MODELS = tuple(group_options("model"))
RUN_OF = {"autoencoder": ["model=autoencoder", "data.task=reconstruction"]}  # a model that needs its task


def model_run(model: str) -> list[str]:
    return RUN_OF.get(model, [f"model={model}"])


def test_every_rule_has_a_trigger():
    assert {rule.__name__ for rule in doctor.RULES} == set(TRIGGERS)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rule", list(TRIGGERS))
def test_every_rules_advice_composes_for_every_model_option(rule, model, make_cfg):
    """What the doctor keeps for a `model=<option>` run composes and passes the start-up check under that option."""
    from levers.config.validate import validate_config

    (advice,) = [a for a in doctor.diagnose(TRIGGERS[rule]) if a.rule == rule]
    checked = doctor.valid_for(advice, model_run(model), None)
    assert len(checked.suggestions) + len(checked.rejected) == len(advice.suggestions)
    for override in checked.overrides:
        validate_config(make_cfg(*model_run(model), override))  # raises on a key or value this run cannot take
    for rejected in checked.rejected:
        with pytest.raises(Exception):  # noqa: B017 (Hydra's or the schema's error: either says no)
            validate_config(make_cfg(*model_run(model), rejected["override"]))


def test_keys_the_rnn_config_lacks_are_never_advised_for_an_rnn_run():
    """The issue's case: `model.batchnorm=true`, `model.bias_init=0.01` under model=rnn ("Could not override")."""
    shown = []
    for trigger in TRIGGERS.values():
        shown += [o for a in doctor.diagnose(trigger) for o in doctor.valid_for(a, ["model=rnn"], None).overrides]
    assert "trainer.gradient_clip_val=1.0" in shown
    assert not [o for o in shown if o.split("=")[0] in ("model.batchnorm", "model.bias_init", "model.activation")]
    mlp = [o for a in doctor.diagnose(TRIGGERS["exploding_gradients"]) for o in doctor.valid_for(a, [], None).overrides]
    assert "model.batchnorm=true" in mlp  # the mlp has the key: the check is per run, not a blanket removal


def test_a_value_outside_the_schemas_range_is_rejected():
    advice = doctor.Advice("x", "x", [Suggestion("regularization.dropout", 1.5, "too much")])
    (rejected,) = doctor.valid_for(advice, [], None).rejected
    assert "regularization.dropout=1.5 is not allowed" in rejected["why"]


def test_an_rnn_run_from_python_is_checked_against_its_saved_overrides(tmp_path):
    from levers.api import train as api_train

    api_train(
        "model=rnn", "trainer.max_epochs=1", "data.limit=200", "trainer.enable_progress_bar=false", run_dir=tmp_path
    )
    overrides = run_overrides(tmp_path)
    assert "model=rnn" in overrides
    checked = doctor.valid_for(doctor.exploding_gradients(TRIGGERS["exploding_gradients"]), overrides, None)
    assert checked.overrides == ["trainer.gradient_clip_val=1.0"]
    assert checked.rejected[0]["override"] == "model.batchnorm=true"
    assert "Could not override 'model.batchnorm'" in checked.rejected[0]["why"]


def test_a_run_without_saved_overrides_is_checked_against_its_saved_config(make_cfg):
    cfg = make_cfg("model=rnn", "trainer.max_epochs=1", "data.limit=200")
    train(cfg)
    saved = doctor._saved_config(Path(cfg.paths.output_dir))  # the loggers' hparams.yaml: no .hydra here
    checked = doctor.valid_for(doctor.dead_units(TRIGGERS["dead_units"]), None, saved)
    assert checked.overrides == [] and len(checked.rejected) == 3


# --- directions --------------------------------------------------------------------------------------------------


def lr_suggestions(advice: list[doctor.Advice]) -> list[object]:
    return [s.value for a in advice for s in a.suggestions if s.key == "optimizer.lr"]


@pytest.mark.parametrize("summary_extra", [{}, {"lr_auto": {"lr": 0.1}}])
def test_a_diverged_run_gets_a_lower_lr_never_a_higher_one_nor_auto_again(summary_extra):
    e = evidence({"status": "diverged", **summary_extra}, [1.0, float("nan")], lr=0.1)
    assert lr_suggestions(doctor.diagnose(e)) == [0.01]


def test_a_diverged_auto_lr_run_without_a_readable_lr_is_not_told_auto_again():
    e = evidence({"status": "diverged", "lr_auto": {"lr": 0.1}}, [1.0, float("nan")], lr=None)
    assert "optimizer.lr=auto" not in [o for a in doctor.diagnose(e) for o in a.overrides]


def test_a_best_epoch_far_below_max_epochs_gets_no_more_epochs():
    """The issue's case: best epoch 8 of 1000, train loss still falling: more epochs only overfit further."""
    e = evidence({"status": "completed", "epochs_run": 1000, "best_epoch": 8}, FALLING, max_epochs=1000)
    assert doctor.still_improving(e) is None
    assert "trainer.max_epochs" not in [s.key for a in doctor.diagnose(e) for s in a.suggestions]
    assert doctor.still_improving(
        evidence({**COMPLETED, "epochs_run": 1000, "best_epoch": 999}, FALLING, max_epochs=1000)
    )


def test_best_epoch_0_after_an_auto_lr_lowers_the_lr_and_never_suggests_auto(make_cfg):
    """The issue's case: SGD, lr=auto with half_divergence on digits picks ~0.12; the best epoch is the first."""
    cfg = make_cfg(
        "optimizer=sgd", "optimizer.lr=auto", "diagnostics.lr_find.suggestion=half_divergence", "trainer.max_epochs=4"
    )
    train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert summary["best_epoch"] == 0
    advice = advice_of(cfg)
    assert "best_epoch_first" in advice
    values = [s["value"] for a in advice.values() for s in a["suggestions"] if s["key"] == "optimizer.lr"]
    assert values and all(isinstance(v, float) and v < summary["lr_auto"]["lr"] for v in values)


# --- too_small and slow_learning: the planted faults of bench/guidance.py -----------------------------------------

SLOW = [3.0 - 0.04 * i for i in range(20)]  # 3.0 -> 2.24: still falling, never below half its start


def test_a_narrow_or_linear_model_that_cannot_fit_is_told_to_grow_not_to_train_longer():
    narrow = doctor.diagnose(doctor.Evidence(COMPLETED, {**FACTS, "width": 1, "depth": 1}, SLOW, SLOW, {}))
    assert narrow[0].rule == "too_small"  # before slow_learning and still_improving, which also see this run
    assert narrow[0].overrides == ["model.width=64", "model.depth=2"]
    linear = doctor.too_small(evidence(COMPLETED, SLOW, SLOW, width=256, depth=0))
    assert linear is not None and linear.overrides == ["model.depth=1"]


def test_too_small_is_silent_for_a_wide_model_one_that_fits_or_one_with_a_gap():
    assert doctor.too_small(evidence(COMPLETED, SLOW, SLOW, width=256, depth=2)) is None
    assert doctor.too_small(evidence(COMPLETED, [2.0, 0.5, 0.2], [2.0, 0.6, 0.3], width=4, depth=1)) is None
    gap = evidence(COMPLETED, [2.0, 1.5, 1.2], [4.0, 3.5, 3.0], width=4, depth=1)  # fits the train data far better
    assert doctor.too_small(gap) is None


def test_slow_learning_raises_the_lr_only_when_every_epoch_was_used_and_validation_still_improved():
    advice = doctor.slow_learning(evidence(COMPLETED, SLOW, lr=1e-6))
    assert advice is not None and advice.overrides == ["optimizer.lr=auto", "optimizer.lr=1e-05"]
    early_stopped = {**COMPLETED, "epochs_run": 15, "best_epoch": 4}
    assert doctor.slow_learning(evidence(early_stopped, SLOW[:15], lr=1e-6)) is None
    assert doctor.slow_learning(evidence({**COMPLETED, "best_epoch": 5}, SLOW, lr=1e-6)) is None  # best far back
    assert doctor.slow_learning(evidence(COMPLETED, [2.0 - 0.08 * i for i in range(20)], lr=1e-6)) is None  # fits
    short = {**COMPLETED, "epochs_run": 3, "best_epoch": 2}  # three epochs: too few to call the learning slow
    assert doctor.slow_learning(evidence(short, SLOW[:3], lr=1e-6, max_epochs=3)) is None
    auto = doctor.slow_learning(evidence({**COMPLETED, "lr_auto": {"lr": 1e-3}}, SLOW, lr=1e-3))
    assert auto is not None and "optimizer.lr=auto" not in auto.overrides


def test_heavy_tailed_regression_targets_under_mse_get_huber_or_mae_advice(make_cfg, tmp_path):
    import numpy as np
    from sklearn.datasets import load_diabetes

    table = load_diabetes(as_frame=True).frame
    planted = np.random.default_rng(0).choice(len(table), len(table) // 20, replace=False)
    table.loc[planted, "target"] *= 100  # 5% of the targets a hundred times too large
    table.to_csv(tmp_path / "outliers.csv", index=False)
    cfg = make_cfg("data=table", f"data.path={tmp_path / 'outliers.csv'}", "data.target=target", "loss=mse")
    train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert summary["target_tails"] > 0.03
    advice = {a.rule: a for a in doctor.advise(Path(cfg.paths.output_dir))}
    assert advice["outlier_targets"].overrides == ["loss=huber", "loss=mae"]


def test_a_normal_looking_target_gets_no_outlier_advice():
    import torch

    assert doctor.target_tails(torch.randn(5000, generator=torch.Generator().manual_seed(0))) == 0.0
    calm = evidence({**COMPLETED, "task": "regression", "loss": "mse", "target_tails": 0.0}, [1.0, 0.9, 0.8])
    assert "outlier_targets" not in {a.rule for a in doctor.diagnose(calm)}
