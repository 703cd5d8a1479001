"""The doctor's advice as data, and the check that each suggested override is valid for the run it is shown for.

A suggestion is (key, value, reason, evidence): the override `key=value`, why, and the figure that triggered it.
Before the doctor shows one it is composed the way the user would run it: Hydra's compose API on the run's own
command-line overrides (`.hydra/overrides.yaml`) plus the suggestion, so a key that the run's config does not have
(`model.batchnorm` under `model=rnn`) fails exactly as Hydra would fail it ("Could not override"), and the value
must then pass the schema's range rule for that key. Composing, not reading `.hydra/config.yaml`, because a
suggestion may be a group option (`scaling=standard`, `callbacks=monitor`), which changes the config's shape.
A run with no saved overrides (one run from Python) is checked against its saved config instead: the key (or the
group's option file) must exist. No torch or Lightning here: the doctor must start fast.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from levers.config.location import CONFIG_DIR_ENV, CONFIG_PACKAGE, config_dir


@dataclass(frozen=True)
class Suggestion:
    key: str  # a dotted config key, or a config group (`scaling`)
    value: Any
    reason: str
    evidence: float | None = None  # the figure behind it (the lr, the gap, the dead fraction, ...)

    @property
    def override(self) -> str:
        """`key=value` as typed on the command line (computed values are rounded when they are made)."""
        return f"{self.key}={str(self.value).lower() if isinstance(self.value, bool) else self.value}"


def _key_of(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def run_overrides(run_dir: Path) -> list[str] | None:
    """The run's command-line overrides (Hydra's `.hydra/overrides.yaml`), without Hydra's own (`hydra.*`)."""
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.exists():
        return None
    saved = OmegaConf.to_container(OmegaConf.load(path))
    return [str(o) for o in saved if not _key_of(str(o)).startswith("hydra.")] if isinstance(saved, list) else None


def rejection(suggestion: Suggestion, overrides: Sequence[str] | None, config: Mapping[str, Any] | None) -> str | None:
    """Why the suggestion cannot be applied to this run (None: it can)."""
    if overrides is not None:
        return compose_rejection(tuple(overrides), suggestion.override)
    if config is None:
        return None  # nothing to check against: a run directory without its config
    return presence_rejection(suggestion, config)


@cache
def compose_rejection(overrides: tuple[str, ...], override: str) -> str | None:
    """Compose conf/train.yaml with the run's overrides, the suggested one replacing any of the same key."""
    from hydra import compose
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    import levers.config  # noqa: F401  (registers the schemas the config's defaults name)

    key = _key_of(override)
    kept = [o for o in overrides if _key_of(o) != key]
    try:
        if GlobalHydra.instance().is_initialized():  # inside the run's own Hydra app: compose from its config
            cfg = compose("train", overrides=[*kept, override])
        else:
            with _initialized():
                cfg = compose("train", overrides=[*kept, override])
    except (HydraException, OmegaConfBaseException) as error:
        return str(error).splitlines()[0]
    return range_rejection(cfg, key)


def _initialized() -> Any:
    """Hydra initialized on the config the command line uses (LEVERS_CONFIG_DIR or the package), as levers.api."""
    from hydra import initialize_config_dir, initialize_config_module

    where = os.environ.get(CONFIG_DIR_ENV)
    if where:
        return initialize_config_dir(config_dir=str(Path(where).resolve()), version_base="1.3")
    return initialize_config_module(CONFIG_PACKAGE, version_base="1.3")


def range_rejection(cfg: Any, key: str) -> str | None:
    """The schema's range rule (schema/checks.py) for `key`, on the composed config."""
    from levers.config.schema.checks import CHECK, Check

    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    schema = OmegaConf.get_type(parent) if OmegaConf.is_config(parent) else None
    if schema is None or not is_dataclass(schema):
        return None
    # a ChoiceOf imports the torch module that defines its names: left to the run's own start-up check
    checks = {f.name: f.metadata[CHECK] for f in fields(schema) if isinstance(f.metadata.get(CHECK), Check)}
    if leaf not in checks:
        return None
    value = OmegaConf.select(cfg, key, throw_on_resolution_failure=False)
    try:
        accepted = bool(checks[leaf].accepts(value))
    except TypeError:
        accepted = False
    return None if accepted else f"{key}={value} is not allowed: {checks[leaf].allowed}"


def presence_rejection(suggestion: Suggestion, config: Mapping[str, Any]) -> str | None:
    """Without the run's overrides: the key must be in its saved config, a group's option must exist."""
    node: Any = config
    for part in suggestion.key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return f"the run's config has no key {suggestion.key}"
        node = node[part]
    option = Path(config_dir()) / suggestion.key / f"{suggestion.value}.yaml"
    if "." not in suggestion.key and (Path(config_dir()) / suggestion.key).is_dir() and not option.exists():
        return f"no option {suggestion.value} in the config group {suggestion.key}"
    return None
