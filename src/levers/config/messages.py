"""One-line answers to the two composition errors a newcomer meets first: a misspelt key, a misspelt option.

Hydra answers `optimizer.lrr=0.1` with "To append to your config use +optimizer.lrr=0.1" (wrong advice: the schema
has no such key, so a `+` would fail too) and `optimizer=nadamm` with its config search path. Here both become one
line naming what was typed, the closest allowed spelling (difflib) and every allowed key or option. Any other error
keeps Hydra's own report.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import DictConfig
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from levers.errors import LeversConfigError

HIDDEN_KEYS = ("_target_", "_partial_", "_convert_", "_recursive_", "_args_")


def closest(word: str, choices: Sequence[str]) -> str | None:
    """The allowed spelling nearest to `word` (difflib's ratio of at least 0.6), if any."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return close[0] if close else None


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """ "; did you mean lr?" when one allowed spelling is close to `word`; "" otherwise."""
    close = closest(word, choices)
    return f"; did you mean {close}?" if close else ""


def unknown_key_line(key: str, allowed: Sequence[str]) -> str:
    """`optimizer.lrr` -> "optimizer.lrr is not a key of optimizer; did you mean lr? Its keys: lr, betas, ..."."""
    parent, _, leaf = key.rpartition(".")
    where = parent or "the config"
    return f"{key} is not a key of {where}{did_you_mean(leaf, allowed) or '.'} Its keys: {', '.join(allowed)}"


def unknown_option_line(group: str, option: str, options: Sequence[str]) -> str:
    """`optimizer=nadamm` -> "optimizer=nadamm is not an option of optimizer; did you mean nadam? ..."."""
    hint = did_you_mean(option, options) or "."
    return f"{group}={option} is not an option of {group}{hint} Its options: {', '.join(options)}"


def visible_keys(node: Any) -> list[str]:
    """The keys a user may set on a config node: all but the instantiation keys (`_target_`, `_partial_`...)."""
    if not isinstance(node, DictConfig):
        return []
    return [str(key) for key in node if str(key) not in HIDDEN_KEYS]


def composition_error_line(error: BaseException) -> str | None:
    """The one-line message for a misspelt key or option; None for every other error (Hydra reports those)."""
    if isinstance(error, MissingConfigException):
        group, _, option = (error.missing_cfg_file or "").rpartition("/")
        if group and error.options:
            return unknown_option_line(group, option, error.options)
        return None
    cause = error.__cause__
    if isinstance(error, ConfigCompositionException) and isinstance(cause, ConfigKeyError | ConfigAttributeError):
        key = getattr(cause, "full_key", None)
        allowed = visible_keys(getattr(cause, "parent_node", None))
        if key and allowed and str(error).startswith("Could not override"):
            return unknown_key_line(str(key), allowed)
    return None


class MisspeltKeyOrOption(LeversConfigError):
    """The same line raised in Python (`levers.train("optimizer.lrr=0.1")`), as the LeversConfigError it is."""

    def __init__(self, line: str) -> None:
        ValueError.__init__(self, line)
        self.key, self.value, self.allowed = line.split(" ", 1)[0], None, line


def composition_errors_in_one_line() -> None:
    """Hydra runs every app inside `hydra._internal.utils.run_and_report`, which prints an exception and exits 1;
    this wraps it so the two errors above print one line and exit 2, as every config error (also in a multirun,
    whose sweep has started when it composes a job)."""
    from hydra._internal import utils

    report = utils.run_and_report
    if getattr(report, "levers_one_line", False):
        return

    def run_and_report_in_one_line(func: Callable[[], Any]) -> Any:
        def composed() -> Any:
            try:
                return func()
            except ConfigCompositionException as error:
                line = composition_error_line(error)
                if line is None or os.environ.get("HYDRA_FULL_ERROR") == "1":  # asked for Hydra's full trace
                    raise
                print(f"config error: {line}", file=sys.stderr)
                sys.exit(2)

        return report(composed)

    run_and_report_in_one_line.levers_one_line = True  # type: ignore[attr-defined]
    utils.run_and_report = run_and_report_in_one_line
