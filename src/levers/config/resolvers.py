"""OmegaConf resolvers that the YAML files use."""

from __future__ import annotations

import os
import secrets

from omegaconf import OmegaConf

from levers.config.help import groups_help
from levers.config.location import example_file


def unique_suffix() -> str:
    """Process id plus random hex: two runs started in the same second never share a directory.

    Registered with ``use_cache=True``: Hydra copies the resolver cache into every multirun job's config, so all
    jobs of one sweep resolve the same sweep directory.
    """
    return f"{os.getpid()}-{secrets.token_hex(2)}"


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("unique"):
        OmegaConf.register_new_resolver("unique", unique_suffix, use_cache=True)
    if not OmegaConf.has_resolver("levers_groups"):
        OmegaConf.register_new_resolver("levers_groups", groups_help)
    if not OmegaConf.has_resolver("example"):
        OmegaConf.register_new_resolver("example", example_file)
