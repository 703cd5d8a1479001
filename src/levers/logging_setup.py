"""What every levers command does to the log before it starts: one path for Lightning's lines, known noise off."""

from __future__ import annotations

import logging
import re
import warnings


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
    r"Found \d+ module\(s\) in eval mode at the start of training.*",  # model.freeze: frozen blocks stay in eval
)


# Known, harmless log records, by logger name: what the stack logs about itself on every run with a tracker.
KNOWN_LOG_NOISE = {
    "pytorch_lightning.loggers.mlflow": r"Experiment with name .* not found\. Creating it\.",  # first run in a store
    "mlflow.store.db.utils": r"(Creating initial MLflow database tables|Updating database tables)",  # a new store
    "pytorch_lightning.utilities.rank_zero": r"💡 Tip: ",  # advertisements for Lightning's cloud services
}


class _DropMatching(logging.Filter):
    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern)

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.match(record.getMessage())


def quiet_known_noise() -> None:
    for pattern in KNOWN_NOISE:
        warnings.filterwarnings("ignore", message=pattern)
    for name, pattern in KNOWN_LOG_NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(known, _DropMatching) for known in logger.filters):  # once per process
            logger.addFilter(_DropMatching(pattern))


LIGHTNING_LOGGERS = ("pytorch_lightning", "lightning")


class LightningInfoToFileOnly(logging.Filter):
    """Lightning's INFO lines (GPU/TPU availability, tips, "Restoring states from ...") are for the log file: the
    console keeps the run's own lines and Lightning's warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith(LIGHTNING_LOGGERS)


def lightning_info_on_console(verbose: bool) -> None:
    """`verbose=false` (the default): the filter on every console handler of the root logger; the log file
    (Hydra's <job>.log) still gets every line. `verbose=true` takes it off again."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            continue
        for existing in [f for f in handler.filters if isinstance(f, LightningInfoToFileOnly)]:
            handler.removeFilter(existing)
        if not verbose:
            handler.addFilter(LightningInfoToFileOnly())
