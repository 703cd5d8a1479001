"""Command-line entry points: `python train.py ...` and the `levers` console script."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

import hydra
from omegaconf import DictConfig

import levers.config  # noqa: F401  (registers schemas and resolvers before Hydra composes)
from levers.distributed import launch_overrides
from levers.errors import LeversConfigError
from levers.serving.commands import entry as serving_entry

CONFIG_DIR_ENV = "LEVERS_CONFIG_DIR"


def config_dir() -> str:
    """conf/ of the checkout this package runs from, unless LEVERS_CONFIG_DIR points elsewhere."""
    return os.environ.get(CONFIG_DIR_ENV, str(Path(__file__).resolve().parents[2] / "conf"))


def route_lightning_logs_through_hydra() -> None:
    """Lightning installs its own stderr handler; Hydra's root handlers then print every line a second time
    and miss the run's log file. One path: Lightning's records go to Hydra's handlers only."""
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning.fabric", "lightning_fabric"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


# Known, harmless warnings from the stack that would otherwise bury the run's own lines.
KNOWN_NOISE = (
    r".*isinstance\(treespec, LeafSpec\).*",  # Lightning 2.6 vs torch 2.13 pytree deprecation
    r"Experiment logs directory .* exists and is not empty.*",  # CSVLogger writes beside Hydra's files
    r"The number of training batches .* is smaller than the logging interval.*",  # we log per epoch
    r".*does not have many workers.*",  # batches come from memory, not DataLoader workers
    r".*self.log\('(val|test)/.*sync_dist=True.*",  # under DDP every rank evaluates the whole val/test split
)


def quiet_known_noise() -> None:
    for pattern in KNOWN_NOISE:
        warnings.filterwarnings("ignore", message=pattern)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
def train_entry(cfg: DictConfig) -> float:
    from levers.run import train  # heavy imports (Lightning) only once Hydra has parsed the command line

    route_lightning_logs_through_hydra()
    quiet_known_noise()
    try:
        return train(cfg)
    except LeversConfigError as error:
        logging.getLogger("levers").error("config error: %s", error)
        raise SystemExit(2) from None


SUBCOMMANDS = {"train": train_entry, **{name: serving_entry(name) for name in ("eval", "predict", "export")}}


def main() -> None:
    """`levers [train] [overrides...]`: the subcommand is optional and defaults to train."""
    command = SUBCOMMANDS[sys.argv.pop(1)] if len(sys.argv) > 1 and sys.argv[1] in SUBCOMMANDS else train_entry
    if command is train_entry:
        sys.argv += launch_overrides(sys.argv[1:])  # SLURM / torchrun tasks agree on one run directory
    command()
