"""Typed schemas for every config group, registered in Hydra's ConfigStore.

Each option's YAML starts with ``defaults: [/schema/<group>/<option>@_here_, _self_]`` so that a misspelt key
or a value of the wrong type fails at composition time with OmegaConf's message naming the key.

One source of truth per lever: a key's type, default and range rule (``checked(default, check)``, see
:mod:`levers.config.schema.checks`) are written once, on its dataclass field; the option's YAML writes its
``_target_`` (which class it builds, readable where the option is chosen) and only the values in which it differs
from the schema (tests/config/test_single_source.py holds both). :mod:`levers.config.validate` applies the range
rules after composition.

One module per group family; each exports ``OPTIONS = {group: {schema name: dataclass}}``.
A new family adds its module and one entry to ``FAMILIES``.
"""

from __future__ import annotations

from typing import Any

from hydra.core.config_store import ConfigStore

from levers.config.schema import (
    data,
    diagnostics,
    images,
    loss,
    model,
    optimization,
    scheduler,
    serving,
    table,
    trainer,
)
from levers.config.schema.top import TrainConfig

FAMILIES = (data, model, loss, optimization, scheduler, trainer, diagnostics, table, images)


def all_options() -> dict[str, dict[str, Any]]:
    options: dict[str, dict[str, Any]] = {}
    for family in FAMILIES:
        for group, schemas in family.OPTIONS.items():
            options.setdefault(group, {}).update(schemas)
    return options


def register_schemas() -> None:
    """Store every schema under `schema/<group>/<name>`, the top level as `levers_schema`, and each checkpoint
    command's as `levers_<command>_schema`."""
    store = ConfigStore.instance()
    store.store(name="levers_schema", node=TrainConfig)
    for command, node in serving.SCHEMAS.items():
        store.store(name=f"levers_{command}_schema", node=node)
    for group, schemas in all_options().items():
        for name, node in schemas.items():
            store.store(group=f"schema/{group}", name=name, node=node)
