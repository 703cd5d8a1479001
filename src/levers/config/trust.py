"""The trust boundary: a config read from a file is data, never a choice of code.

Configs come from two trusted places, the command line and levers' own config (its schemas and the YAML files of
its config folder). A config read back from a file (a checkpoint's rebuild recipe, a run directory's
``.hydra/config.yaml``) could have been written by anyone, and ``hydra.utils.instantiate`` would call whatever its
``_target_`` names. So before such a config is used, :func:`trusted_config`

- refuses any resolver call but ``${example:...}`` before resolving (``${oc.env:...}`` would read the environment,
  ``${oc.create:...}`` build a node), then resolves it to plain values (no interpolation is left to run later),
- and checks that every ``_target_`` is one that levers' own config writes at that same place (``model`` may be
  ``levers.models.mlp.MLP``, never ``torch.load``; ``callbacks.early_stopping`` only ``EarlyStopping``), and that
  no node carries ``_args_`` (levers writes none).

Anything else is refused with one line naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from levers.config.location import config_dir
from levers.errors import LeversConfigError

# Groups whose nodes never reach the job's config (Hydra's own, and the sweep settings that live under `hydra`).
NOT_IN_JOB_CONFIG = {"hydra"}


# Resolvers a config read from a file may call: levers' own saved configs use only `${example:...}` (a shipped
# table's path) besides plain references (`${monitor}`, `${..path}`). Any other, e.g. `${oc.env:SECRET}` or
# `${oc.create:...}`, would run at resolution: refused before resolving.
FILE_RESOLVERS = {"example"}
RESOLVER_CALL = re.compile(r"\$\{\s*([\w.]+)\s*:")


def trusted_config(config: Any, source: str | Path) -> Any:
    """`config` (a DictConfig or plain container read from `source`) as plain, resolved values, once checked."""
    try:
        created = OmegaConf.create(config)
        raw = OmegaConf.to_container(created, resolve=False)
    except (OmegaConfBaseException, ValueError) as error:
        raise LeversConfigError(str(source), _first_line(error), "a config as levers writes them") from None
    if not isinstance(raw, dict):
        raise LeversConfigError(str(source), type(raw).__name__, "a mapping of config groups, as levers writes them")
    for path, node in _nodes(raw):
        _check_resolvers(path, node, source)
    try:
        plain = OmegaConf.to_container(created, resolve=True)
    except OmegaConfBaseException as error:
        raise LeversConfigError(
            str(source), _first_line(error), "a config that resolves (as levers writes them)"
        ) from None
    for path, node in _nodes(plain):
        _check_node(path, node, source)
    return OmegaConf.create(plain)


def _check_resolvers(path: str, node: Any, source: str | Path) -> None:
    for name in RESOLVER_CALL.findall(node) if isinstance(node, str) else ():
        if name not in FILE_RESOLVERS:
            allowed = f"plain values or references; of resolvers only {', '.join(sorted(FILE_RESOLVERS))}"
            raise LeversConfigError(f"{source}: {path}", node, allowed)


def _check_node(path: str, node: Any, source: str | Path) -> None:
    if isinstance(node, str) and "${" in node:
        raise LeversConfigError(f"{source}: {path}", node, "a plain value (no interpolation left after resolving)")
    if not isinstance(node, Mapping):
        return
    if "_args_" in node:
        raise LeversConfigError(f"{source}: {path}._args_", node["_args_"], "nothing: levers writes no _args_")
    if "_target_" in node:
        allowed = allowed_targets().get(path, frozenset())
        if not isinstance(node["_target_"], str) or node["_target_"] not in allowed:
            what = f"one of {', '.join(sorted(allowed))}" if allowed else "no _target_ at this key"
            raise LeversConfigError(f"{source}: {_key(path, '_target_')}", node["_target_"], what)


def _nodes(container: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every node with its dotted path (list items by index), the container itself first."""
    yield path, container
    if isinstance(container, Mapping):
        children = container.items()
    elif isinstance(container, list):
        children = enumerate(container)
    else:
        return
    for key, child in children:
        yield from _nodes(child, _key(path, str(key)))


@functools.cache
def allowed_targets() -> dict[str, frozenset[str]]:
    """Dotted path -> the `_target_`s levers' own schemas and YAML files write there."""
    from levers.config.schema import all_options  # the schema modules import nothing of this one

    found: dict[str, set[str]] = {}
    for group, schemas in all_options().items():
        for schema in schemas.values():
            for path, target in _schema_targets(schema, group):
                found.setdefault(path, set()).add(target)
    for path, target in _yaml_targets(Path(config_dir())):
        found.setdefault(path, set()).add(target)
    return {path: frozenset(targets) for path, targets in found.items()}


def _schema_targets(schema: type, prefix: str) -> Iterator[tuple[str, str]]:
    """The `_target_` defaults of a schema dataclass and of the dataclasses its fields may hold (None included)."""
    hints = typing.get_type_hints(schema)
    for field in dataclasses.fields(schema):
        if field.name == "_target_":
            if isinstance(field.default, str) and field.default != "???":
                yield prefix, field.default
            continue
        for kind in _dataclasses_in(hints.get(field.name)):
            yield from _schema_targets(kind, _key(prefix, field.name))


def _dataclasses_in(hint: Any) -> list[type]:
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return [hint]
    return [kind for arg in typing.get_args(hint) for kind in _dataclasses_in(arg)]


def _yaml_targets(root: Path) -> Iterator[tuple[str, str]]:
    """Targets written in the YAML files: `<group>/<option>.yaml` at `<group>`, `@package _global_` ones at the top."""
    for file in sorted(root.rglob("*.yaml")):
        group = file.parent.relative_to(root).as_posix()
        if group.split("/")[0] in NOT_IN_JOB_CONFIG:
            continue
        text = file.read_text(encoding="utf-8")
        prefix = "" if group == "." or "@package _global_" in text else group.replace("/", ".")
        content = OmegaConf.to_container(OmegaConf.create(text), resolve=False)
        for path, node in _nodes(content, prefix):
            if path.split(".")[0] in NOT_IN_JOB_CONFIG or not isinstance(node, Mapping):
                continue
            if isinstance(node.get("_target_"), str):
                yield path, node["_target_"]


def _key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
