"""A misspelt key or option: one line naming it, the closest allowed spelling and all allowed (config/messages)."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

from levers.config.messages import composition_error_line, did_you_mean
from tests.conftest import CONF


def error_of(*overrides: str) -> ConfigCompositionException:
    with (
        initialize_config_dir(config_dir=str(CONF), version_base="1.3"),
        pytest.raises(ConfigCompositionException) as caught,
    ):
        compose("train", overrides=list(overrides))
    return caught.value


def test_misspelt_optimizer_key_names_the_closest_key_and_every_allowed_one():
    line = composition_error_line(error_of("optimizer.lrr=0.1"))
    assert line == (
        "optimizer.lrr is not a key of optimizer; did you mean lr? "
        "Its keys: lr, weight_decay, backbone_lr_mult, betas, eps, amsgrad"
    )


def test_allowed_keys_leave_out_the_instantiation_keys():
    line = composition_error_line(error_of("optimizer=sgd", "optimizer.momentun=0.9"))
    assert "did you mean momentum?" in line and "_target_" not in line and "_partial_" not in line


@pytest.mark.parametrize(
    ("override", "start", "suggestion", "allowed"),
    [
        ("lrr=1", "lrr is not a key of the config.", None, "optimizer"),
        ("sed=1", "sed is not a key of the config;", "seed", "trainer"),
        ("trainer.max_epoch=3", "trainer.max_epoch is not a key of trainer;", "max_epochs", "precision"),
        ("data.batch_sise=8", "data.batch_sise is not a key of data;", "batch_size", "folds"),
    ],
)
def test_misspelt_top_level_and_nested_keys_are_named_with_their_node(override, start, suggestion, allowed):
    line = composition_error_line(error_of(override))
    assert line.startswith(start)
    assert (f"did you mean {suggestion}?" in line) if suggestion else ("did you mean" not in line)
    assert allowed in line.split("Its keys: ")[1].split(", ")


def test_key_of_a_data_option_lists_that_option_keys():
    line = composition_error_line(error_of("data=table", "data.pth=x.csv"))
    keys = line.split("Its keys: ")[1].split(", ")
    assert "did you mean path?" in line and {"path", "target", "features", "folds"} <= set(keys)


def test_misspelt_option_lists_the_options_without_the_search_path():
    error = error_of("optimizer=nadamm")
    assert "search path" in str(error)  # what Hydra says
    line = composition_error_line(error)
    assert line == (
        "optimizer=nadamm is not an option of optimizer; did you mean nadam? "
        "Its options: adagrad, adam, adamax, adamw, nadam, rmsprop, sgd"
    )


def test_other_composition_errors_keep_hydra_report():
    assert composition_error_line(error_of("model.depth=two")) is None


def test_no_suggestion_when_nothing_is_close():
    assert did_you_mean("zzzz", ["lr", "eps"]) == ""
