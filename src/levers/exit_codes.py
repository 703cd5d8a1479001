"""Exit codes a scheduler can trust: interrupted runs exit like a shell reports them, config errors exit 2.

Shared by every Hydra app of levers (training and the checkpoint commands).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_composed = False


def mark_composed() -> None:
    """Called when Hydra has composed this process's config (a task function or a sweep started): an exit 1
    from here on is the command's own outcome, not a config error."""
    global _composed
    _composed = True


# 128 + the signal's number, as shells report a process the signal ended: a scheduler or `train && eval` chain must
# not read an interrupted run as a success.
INTERRUPT_EXIT_CODES = {"SIGINT": 128 + signal.SIGINT, "SIGTERM": 128 + signal.SIGTERM}  # 130, 143


def interrupting_signal(error: BaseException) -> str | None:
    """SIGTERM or SIGINT when `error` (or an exception it was raised while handling) is how one stopped the run.

    Lightning turns SIGTERM into its SIGTERMException (a SystemExit with code 0) and Ctrl+C into `sys.exit(1)`
    raised inside its `except KeyboardInterrupt`, after the callbacks have written summary.json `interrupted`."""
    lightning = sys.modules.get("pytorch_lightning.utilities.exceptions")  # not imported: it raised nothing
    sigterm = getattr(lightning, "SIGTERMException", None)
    while error is not None:
        if sigterm is not None and isinstance(error, sigterm):
            return "SIGTERM"
        if isinstance(error, KeyboardInterrupt):
            return "SIGINT"
        error = error.__context__
    return None


@contextmanager
def interrupts_exit_like_a_shell() -> Iterator[None]:
    """A run (or a sweep: its job's interruption ends it) stopped by SIGTERM exits 143, by SIGINT 130, once
    everything it had written is on disk; every other exit keeps its code."""
    try:
        yield
    except (SystemExit, KeyboardInterrupt) as error:
        name = interrupting_signal(error)
        if name is None:
            raise
        print(f"levers: interrupted by {name}; exit code {INTERRUPT_EXIT_CODES[name]}", file=sys.stderr)
        raise SystemExit(INTERRUPT_EXIT_CODES[name]) from None


@contextmanager
def composition_errors_exit_2() -> Iterator[None]:
    """Hydra exits 1 when the command line cannot be composed into a config (an unknown key or option, a wrong
    type, an unparsable override); that is a config error like any levers rejects, so it exits 2. An exit 1 before
    `mark_composed` (the first thing a task function or a sweep does) is one of these."""
    try:
        yield
    except SystemExit as error:
        if error.code == 1 and not _composed:
            raise SystemExit(2) from None
        raise
