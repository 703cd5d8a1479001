"""A config read from a file may name only the classes levers' own config writes, at the same key."""

from __future__ import annotations

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from levers.config.trust import allowed_targets, trusted_config
from levers.errors import LeversConfigError


def composed(make_cfg, *overrides: str) -> dict:
    return OmegaConf.to_container(make_cfg(*overrides), resolve=True)


def test_every_option_levers_composes_passes_the_check(make_cfg):
    for overrides in (
        (),
        ("model=cnn", "data=fashion_mnist", "scheduler=onecycle", "logger=[csv,tensorboard]"),
        ("model=rnn", "callbacks=monitor", "optimizer=adagrad", "regularization=swa", "loss=huber"),
        ("data=wage", "scheduler=plateau", "callbacks=periodic", "hparams_search=optuna"),
    ):
        trusted_config(composed(make_cfg, *overrides), "run.ckpt")


def test_the_table_knows_each_groups_targets_at_their_own_key():
    table = allowed_targets()
    assert "levers.models.mlp.MLP" in table["model"] and "torch.optim.NAdam" in table["optimizer"]
    assert table["callbacks.early_stopping"] == {"pytorch_lightning.callbacks.EarlyStopping"}
    assert "levers.data.table.load_table" in table["data.source"]
    assert "torch.optim.Adam" not in table["model"]  # a real class, at the wrong key


@pytest.mark.parametrize(
    ("key", "node", "named"),
    [
        ("model", {"_target_": "shutil.copyfile", "src": "a", "dst": "b"}, "model._target_"),
        ("model", {"_target_": "torch.optim.Adam"}, "model._target_"),  # levers' class, but not a model
        ("model.activation", {"_target_": "shutil.copyfile", "src": "a", "dst": "b"}, "model.activation._target_"),
        ("data.source", {"_target_": "levers.data.table.load_table", "_args_": ["x"]}, "data.source._args_"),
        ("callbacks.extra", {"_target_": "levers.callbacks.guard.NonFiniteGuard"}, "callbacks.extra._target_"),
    ],
)
def test_a_target_levers_would_not_write_there_is_refused_naming_file_and_key(make_cfg, key, node, named):
    config = OmegaConf.create(composed(make_cfg))
    OmegaConf.update(config, key, node, force_add=True)
    with pytest.raises(LeversConfigError) as error:
        trusted_config(config, "run/last.ckpt")
    assert error.value.key == f"run/last.ckpt: {named}"


def test_a_target_hidden_in_an_interpolation_is_refused(make_cfg, tmp_path):
    marker = tmp_path / "pwned"
    config = composed(make_cfg)
    config["model"]["width"] = f"${{oc.create:{{_target_: pathlib.Path.mkdir, self: {marker}}}}}"
    with pytest.raises(LeversConfigError, match=r"config.yaml: model.width=.*of resolvers only example"):
        trusted_config(config, "config.yaml")
    assert not marker.exists()


def test_an_escaped_interpolation_left_after_resolving_is_refused(make_cfg):
    config = composed(make_cfg)
    config["seed"] = r"\${seed_text}"  # resolves to the text "${seed_text}", which a later create would resolve
    with pytest.raises(LeversConfigError, match=r"config.yaml: seed=.*a plain value"):
        trusted_config(config, "config.yaml")


def test_a_file_config_may_not_call_resolvers_that_read_the_environment(make_cfg, monkeypatch):
    monkeypatch.setenv("LEVERS_TEST_SECRET", "hunter2")
    config = composed(make_cfg)
    config["logger"]["csv"]["name"] = "${oc.env:LEVERS_TEST_SECRET}"
    with pytest.raises(LeversConfigError, match=r"logger.csv.name=.*oc.env") as error:
        trusted_config(config, "config.yaml")
    assert "hunter2" not in str(error.value)


def test_a_target_that_is_not_a_string_is_refused(make_cfg):
    config = composed(make_cfg)
    config["model"]["_target_"] = ["levers.models.mlp.MLP"]
    with pytest.raises(LeversConfigError, match=r"model._target_=\['levers.models.mlp.MLP'\]"):
        trusted_config(config, "config.yaml")


def test_the_poison_used_above_is_live_when_instantiated_directly(tmp_path):
    """So the refusals above are what keeps the file from being written."""
    source, marker = tmp_path / "source", tmp_path / "pwned"
    source.write_text("x")
    instantiate({"_target_": "shutil.copyfile", "src": str(source), "dst": str(marker)})
    assert marker.exists()
