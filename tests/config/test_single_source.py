"""One source of truth per lever: a default is written once, in the schema dataclass; an option's YAML writes its
`_target_` (which class it builds) and only the values in which it differs from the schema; a key's range rule is
metadata on its schema field."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from omegaconf import DictConfig, OmegaConf

from levers.config.schema import all_options
from levers.config.schema.checks import CHECK
from levers.config.schema.top import TrainConfig
from levers.config.validate import validate_config
from levers.errors import LeversConfigError
from tests.conftest import CONF, group_options

# Groups whose options are a schema plus the YAML's own values. (`experiment` presets pin the values they were
# measured with, whatever the defaults become; `hparams_search` and `hydra` are the sweepers' and Hydra's.)
GROUPS = ("callbacks", "data", "diagnostics", "logger", "loss", "model", "optimizer", "regularization", "scaling",
          "scheduler", "trainer")  # fmt: skip
OPTIONS = [(group, option) for group in GROUPS for option in group_options(group)]
_ABSENT = object()


def own_values(group: str, option: str) -> tuple[dict[str, Any], list[str]]:
    """An option file's own values (unresolved) and its defaults list."""
    raw = OmegaConf.to_container(OmegaConf.load(CONF / group / f"{option}.yaml"), resolve=False)
    return raw, [entry for entry in raw.pop("defaults", None) or [] if entry != "_self_"]


def inherited(group: str, defaults: list[str], own: dict[str, Any]) -> DictConfig:
    """What an option would be without its own values: its schema, then any option it extends. Entries the schema
    leaves null or unset (`callbacks.periodic_checkpoint`, `logger.csv`) are filled with their dataclass's defaults
    where the option writes them, as composing does."""
    base = OmegaConf.create({})
    for entry in defaults:
        if entry.startswith("/schema/"):
            schema_group, name = entry.removeprefix("/schema/").split("@")[0].split("/")
            base = OmegaConf.merge(base, OmegaConf.structured(all_options()[schema_group][name]))
        else:
            parent, parent_defaults = own_values(group, entry)
            base = OmegaConf.merge(inherited(group, parent_defaults, parent), parent)
    return OmegaConf.merge(base, _skeleton(own))


def _skeleton(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _skeleton(value) for key, value in values.items() if isinstance(value, dict) and value}


def restated(own: dict[str, Any], base: Any, path: str = "") -> Iterator[str]:
    """`key=value` for every value of `own` that `base` already holds."""
    for key, value in own.items():
        given = base.get(key, _ABSENT) if isinstance(base, dict) else _ABSENT
        if isinstance(value, dict) and value and isinstance(given, dict):
            yield from restated(value, given, f"{path}{key}.")
        elif given is not _ABSENT and value == given:
            yield f"{path}{key}={value!r}"


def target_paths(node: Any, path: str = "") -> Iterator[str]:
    """The dotted path of every node holding a `_target_` key (set or not)."""
    if isinstance(node, dict):
        if "_target_" in node:
            yield path
        for key, child in node.items():
            yield from target_paths(child, f"{path}{key}.")


def _plain(node: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(node, resolve=False)


@pytest.mark.parametrize(("group", "option"), OPTIONS)
def test_an_option_yaml_writes_no_value_its_schema_already_has(group, option):
    own, defaults = own_values(group, option)
    base = _plain(inherited(group, defaults, own))
    assert list(restated(own, base)) == [], f"conf/{group}/{option}.yaml restates a default of its schema"


def test_train_yaml_writes_no_top_level_default():
    own, _ = own_values(".", "train")
    assert list(restated(own, _plain(OmegaConf.structured(TrainConfig)))) == []


@pytest.mark.parametrize(("group", "option"), OPTIONS)
def test_every_target_of_an_option_is_written_in_its_yaml(group, option):
    """Its own file, or the file of the option it extends (`trainer=gpu` extends `trainer=default`)."""
    own, defaults = own_values(group, option)
    composed = _plain(OmegaConf.merge(inherited(group, defaults, own), own))
    written = set(target_paths(own))
    for parent in (entry for entry in defaults if not entry.startswith("/")):
        written |= set(target_paths(own_values(group, parent)[0]))
    assert set(target_paths(composed)) <= written
    for path in target_paths(composed):
        assert OmegaConf.select(OmegaConf.create(composed), f"{path}_target_") != "???", path


def _schemas() -> Iterator[type]:
    seen: list[type] = [TrainConfig]
    for schemas in all_options().values():
        seen.extend(schemas.values())
    while seen:
        kind = seen.pop()
        yield kind
        for base in kind.__mro__[1:]:
            if dataclasses.is_dataclass(base):
                seen.append(base)
        for field in dataclasses.fields(kind):
            if field.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(field.default_factory):
                seen.append(field.default_factory)


def test_no_schema_dataclass_writes_a_target():
    """The YAML is where a `_target_` is read; a schema default would be a second copy of it."""
    defaulted = {kind.__name__ for kind in _schemas() for f in dataclasses.fields(kind) if f.name == "_target_"
                 and f.default != "???"}  # fmt: skip
    assert defaulted == set()


def test_a_subclass_that_changes_a_checked_default_keeps_the_check():
    """dataclasses replace a whole field when a subclass sets a new default; the range rule must come along."""
    lost = []
    for kind in _schemas():
        for base in (b for b in kind.__mro__[1:] if dataclasses.is_dataclass(b)):
            parent = {f.name: f for f in dataclasses.fields(base)}
            for field in dataclasses.fields(kind):
                if CHECK in getattr(parent.get(field.name), "metadata", {}) and CHECK not in field.metadata:
                    lost.append(f"{kind.__name__}.{field.name}")
    assert lost == []


def test_the_scheduler_interval_is_checked_in_every_option(make_cfg):
    """CosineConfig and its siblings set interval=step: their field must still refuse `interval=hourly`."""
    for option in ("none", "cosine", "onecycle"):
        with pytest.raises(LeversConfigError, match="one of epoch, step"):
            validate_config(make_cfg(f"scheduler={option}", "scheduler.interval=hourly"))


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("regularization.weight_decay=-1", "regularization.weight_decay"),  # optimizer.weight_decay follows it
        ("regularization.dropout=1.5", "regularization.dropout"),  # model.dropout follows it
        ("optimizer.weight_decay=-1", "optimizer.weight_decay"),  # set in place: no longer following
    ],
)
def test_a_bad_value_is_reported_at_the_key_the_user_set(make_cfg, override, key):
    with pytest.raises(LeversConfigError) as error:
        validate_config(make_cfg(override))
    assert error.value.key == key
