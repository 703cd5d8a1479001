"""Command-line entry points: `python train.py ...` and the `levers` console script."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ValidationError

import levers.config  # noqa: F401  (registers schemas and resolvers before Hydra composes)
from levers import cpu_load
from levers.config.location import hydra_config_path
from levers.config.messages import composition_errors_in_one_line
from levers.config.settings import command_settings
from levers.distributed import launch_overrides
from levers.errors import LeversConfigError, LeversRunFailed
from levers.exit_codes import composition_errors_exit_2, interrupts_exit_like_a_shell, mark_composed
from levers.logging_setup import lightning_info_on_console, quiet_known_noise, route_lightning_logs_through_hydra

SWITCHED_ON_BY = {  # entries that are null unless an option sets them
    "callbacks.periodic_checkpoint": "callbacks=periodic",
    "callbacks.monitor": "callbacks=monitor",
    "callbacks.optuna_pruning": "hparams_search=optuna",
}


def overrides_under_null_fail_in_one_line() -> None:
    """An override beneath a switched-off (null) entry, e.g. `callbacks.periodic_checkpoint.every_n_epochs=3`
    without `callbacks=periodic`, trips a bare assert in OmegaConf.update that Hydra prints as a 20-line traceback.
    Raised as an OmegaConf ValidationError instead, Hydra reports it in two lines ("Error merging override ...",
    then which entry is null and how to switch it on). OmegaConf.update is otherwise unchanged."""
    update = OmegaConf.update
    if getattr(update, "levers_null_check", False):
        return

    def update_or_name_the_null(cfg: object, key: str, value: object = None, *, merge: bool = True, **kw: bool) -> None:
        try:
            update(cfg, key, value, merge=merge, **kw)
        except AssertionError as error:
            null = _first_null_parent(cfg, key)
            if null is None:
                raise
            switch = SWITCHED_ON_BY.get(null, f"the option that switches {null} on")
            message = f"{null} is null (switched off), so {key} cannot be set: choose {switch} first"
            raise ValidationError(message) from error

    update_or_name_the_null.levers_null_check = True  # type: ignore[attr-defined]
    OmegaConf.update = update_or_name_the_null  # type: ignore[method-assign]


def _first_null_parent(cfg: object, key: str) -> str | None:
    parts = key.split(".")
    for end in range(1, len(parts)):
        parent = ".".join(parts[:end])
        if OmegaConf.select(cfg, parent, default=0, throw_on_missing=False) is None:
            return parent
    return None


overrides_under_null_fail_in_one_line()
composition_errors_in_one_line()  # a misspelt key or option: one line with the allowed ones


@hydra.main(version_base="1.3", config_path=hydra_config_path(), config_name="train")
def train_entry(cfg: DictConfig) -> float:
    mark_composed()
    with imports_kept_out_of_gc():
        from levers.run import run  # heavy imports (Lightning) only once Hydra has parsed the command line

    route_lightning_logs_through_hydra()
    quiet_known_noise()
    try:
        return run(cfg)
    except LeversConfigError as error:
        logging.getLogger("levers").error("config error: %s", error)
        if _in_multirun():
            raise  # the sweep records this job as failed and goes on
        raise SystemExit(2) from None
    except LeversRunFailed as failure:
        logging.getLogger("levers").error("%s: %s", failure.status, failure)
        if _in_multirun():
            return float("nan")  # one diverged job must not end the sweep; its summary.json says why
        raise SystemExit(failure.exit_code) from None


@contextmanager
def imports_kept_out_of_gc() -> Iterator[None]:
    """The heavy imports (torch, Lightning: ~430k objects) live as long as the process, yet the garbage collector
    scans them over and over while they load (0.6 s of full collections here) and again in every later full
    collection (0.25-0.3 s each; the first lands before the first training step). So: no collection while they
    load, then they are frozen out of all later ones (issue 6, start-up). Costs the few MB of import-time cyclic
    garbage (~13k objects), never freed. Once per process: a later sweep job would freeze its predecessor's garbage."""
    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def doctor_entry() -> None:
    """`levers doctor <run dir>`: advice from a finished (or failed) run's files; no Lightning import."""
    from levers.diagnostics.doctor import main as doctor_main

    raise SystemExit(doctor_main(sys.argv[1:]))


def auto_entry() -> None:
    """`levers auto [overrides...] [budget=...]`: the practice guide's recipe, each step a real run."""
    with imports_kept_out_of_gc():
        from levers.autopilot.command import main as auto_main

    route_lightning_logs_through_hydra()
    quiet_known_noise()
    raise SystemExit(auto_main(sys.argv[1:]))


def report_entry() -> None:
    """`levers report <sweep dir>`: the leaderboard and HTML report of a multirun, rebuilt from its files."""
    from levers.sweeps.report import main as report_main

    raise SystemExit(report_main())


def train() -> None:
    """`levers-train [overrides...]`, `python train.py ...`: train (or run a diagnostic mode) on Hydra's command
    line, with `resume=` pointed at its own directory and SLURM/torchrun tasks agreeing on one run directory."""
    cpu_load.open_window()  # threads=auto reads the machine's load over start-up instead of waiting for a sample
    args = continue_in_place(sys.argv[1:])
    sys.argv = [sys.argv[0], *args, *launch_overrides(args)]  # Hydra reads only sys.argv: the extra overrides go there
    with interrupts_exit_like_a_shell(), composition_errors_exit_2():
        train_entry()


def hydra_app(command: str) -> Callable[[], None]:
    """The console entry of a checkpoint command (levers.serving.commands): Hydra parses sys.argv; a bad value
    exits 2 with one line."""

    @hydra.main(version_base="1.3", config_path=hydra_config_path(), config_name=command)
    def app(cfg: DictConfig) -> None:
        mark_composed()
        route_lightning_logs_through_hydra()
        quiet_known_noise()
        lightning_info_on_console(verbose=False)
        from levers.serving.commands import run_command

        try:
            run_command(command, command_settings(command, cfg))
        except LeversConfigError as error:
            logging.getLogger("levers").error("config error: %s", error)
            raise SystemExit(2) from None

    def entry() -> None:
        with interrupts_exit_like_a_shell(), composition_errors_exit_2():
            app()

    return entry


eval_main, predict_main, export_main = (hydra_app(name) for name in ("eval", "predict", "export"))

# Each command is also its own console script, `levers-<command>` (pyproject.toml, [project.scripts]).
COMMANDS: dict[str, Callable[[], None]] = {
    "train": train,
    "eval": eval_main,
    "predict": predict_main,
    "export": export_main,
    "doctor": doctor_entry,
    "report": report_entry,
    "auto": auto_entry,
}


def continue_in_place(argv: list[str]) -> list[str]:
    """`resume=<run dir>` continues that run in its own directory: Hydra's run dir is pointed there, and this
    invocation's own Hydra files go to .hydra/resume so the original .hydra/config.yaml stays intact."""
    resume = next((arg.split("=", 1)[1] for arg in argv if arg.startswith("resume=")), None)
    if not resume or any(arg.startswith("hydra.run.dir=") for arg in argv):
        return argv
    return [*argv, f"hydra.run.dir={resume}", "hydra.output_subdir=.hydra/resume"]


def unknown_command(word: str) -> bool:
    """A bare word that is neither a command nor an override (`key=value`, `+key=`, `~key`) nor an option (`-m`):
    Hydra would fail on it with a traceback-like parse error, or `levers frobnicate` would be taken for training."""
    return word not in COMMANDS and "=" not in word and not word.startswith(("-", "+", "~"))


def main(argv: list[str] | None = None) -> None:
    """`levers [command] [arguments...]`: the command's own entry (train when the first word is an override),
    `levers report <sweep dir>`, `levers doctor <run dir>`, `levers eval|predict|export ckpt_path=...`."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args and unknown_command(args[0]):
        print(
            f"levers: unknown command {args[0]!r}; the commands are {', '.join(COMMANDS)} "
            "(train is the default: `levers key=value ...`)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    command, rest = (args[0], args[1:]) if args and args[0] in COMMANDS else ("train", args)
    with command_line(rest):
        COMMANDS[command]()


@contextmanager
def command_line(args: list[str]) -> Iterator[None]:
    """Hydra (and argparse) read the command line from sys.argv only: the command's own arguments for the call,
    the caller's afterwards."""
    saved = sys.argv
    sys.argv = [saved[0], *args]
    try:
        yield
    finally:
        sys.argv = saved
