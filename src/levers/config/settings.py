"""Typed pieces of the composed config, for the stages below the composition root (levers.build).

A stage takes the schema's dataclass of the one node it needs (a resolved, checked copy), never the whole
`DictConfig`: what a function can read is what its signature says, and a test can build one without Hydra.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from levers.config.schema.data import DataConfig
from levers.config.schema.serving import SCHEMAS, ServingConfig
from levers.errors import LeversConfigError

T = TypeVar("T")

# Keys a data option leaves `???` for the user to fill (data=table's file and column, data=images' folder).
REQUIRED_DATA_KEYS = ("path", "target")
# The command line that fills them, by data option (`data.name`); a table's otherwise.
REQUIRED_DATA_EXAMPLES = {"images": "python train.py data=images data.path=FOLDER model=cnn"}
TABLE_EXAMPLE = "python train.py data=table data.path=FILE.csv data.target=COLUMN"


def data_settings(node: DictConfig) -> DataConfig:
    """The `data` node as its schema (DataConfig, or TableDataConfig for tables), interpolations resolved.

    A `???` left by data=table gets one line naming it, not OmegaConf's traceback.
    """
    for key in REQUIRED_DATA_KEYS:
        if key in set(node.keys()) and OmegaConf.is_missing(node, key):  # `key in node` is False for ???
            example = REQUIRED_DATA_EXAMPLES.get(node.get("name"), TABLE_EXAMPLE)
            raise LeversConfigError(f"data.{key}", "???", f"a value: {example}")
    return typed(node, DataConfig)


# What each checkpoint command cannot run without.
REQUIRED_COMMAND_KEYS = {"eval": ("ckpt_path",), "predict": ("ckpt_path", "input"), "export": ("ckpt_path",)}


def command_settings(command: str, cfg: DictConfig) -> ServingConfig:
    """A checkpoint command's composed config (conf/<command>.yaml) as its schema; an unset key is one line."""
    required = REQUIRED_COMMAND_KEYS[command]
    unset = [key for key in required if OmegaConf.is_missing(cfg, key)]
    if unset:
        example = " ".join(f"{key}=..." for key in required)
        raise LeversConfigError(unset[0], None, f"set, e.g. `levers {command} {example}`")
    return typed(cfg, SCHEMAS[command])


def typed(node: DictConfig, kind: type[T]) -> T:
    """The node as an instance of its schema dataclass (`kind` or a subclass), resolved and detached.

    A node read back from a file (a checkpoint's stored config) carries no schema: it is typed by the one schema
    among `kind` and its subclasses with the fewest fields that holds all its keys (a key added to the schema
    since the file was written takes its default), so a wrong value type or an unknown key fails here.
    """
    if OmegaConf.get_type(node) is dict:
        node = OmegaConf.merge(OmegaConf.structured(_schema_with_keys(kind, set(node.keys()))), node)
    value: Any = OmegaConf.to_object(node)
    if not isinstance(value, kind):
        raise TypeError(f"expected a {kind.__name__} node, got {type(value).__name__}")  # a schema not registered
    return value


def _schema_with_keys(kind: type[T], keys: set[Any]) -> type[T]:
    candidates = sorted([kind, *_subclasses(kind)], key=lambda schema: len(fields(schema)))  # type: ignore[arg-type]
    for candidate in candidates:
        if keys <= {field.name for field in fields(candidate)}:  # type: ignore[arg-type]
            return candidate
    names = ", ".join(sorted(map(str, keys)))
    raise LeversConfigError(kind.__name__, names, f"the keys of one of {[c.__name__ for c in candidates]}")


def _subclasses(kind: type) -> list[type]:
    return [sub for direct in kind.__subclasses__() for sub in (direct, *_subclasses(direct))]
