"""Grid sweeper: Hydra's basic sweeper without its one flaw for comparing runs.

Hydra's BasicSweeper re-raises the first failed job's exception once its batch is done, so later batches never run
and `on_multirun_end` (where levers writes the report) is never called. Here every batch runs; failed jobs are
logged, and the report callback turns them into a non-zero exit code after the report is written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

log = logging.getLogger(__name__)


class GridSweeper(BasicSweeper):
    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        assert self.config is not None and self.launcher is not None and self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([*self._parse_config(), *arguments])
        self.overrides = self.split_arguments(overrides, self.max_batch_size)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        returns: list[Sequence[JobReturn]] = []
        initial_job_idx = 0
        while not self.is_done():
            batch = self.get_job_batch()
            self.validate_batch_is_legal(batch)
            results = self.launcher.launch(batch, initial_job_idx=initial_job_idx)
            for number, result in enumerate(results, start=initial_job_idx):
                log_failure(number, result)
            initial_job_idx += len(batch)
            returns.append(results)
        return returns


def log_failure(number: int, result: JobReturn) -> None:
    if result.status == JobStatus.FAILED:
        error: Any = result._return_value
        log.error("job %d failed (%s): %s: %s", number, " ".join(result.overrides or []), type(error).__name__, error)
