"""Configs of levers' sweepers, stored in Hydra's ConfigStore under `hydra/sweeper` (picked as `hydra/sweeper=...`).

No `from __future__ import annotations`: Hydra imports plugin modules without registering them in sys.modules,
where dataclasses would have to look string annotations up.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class GridSweeperConf:
    """Hydra's basic sweeper, but a failed job is recorded and the sweep goes on."""

    _target_: str = "hydra_plugins.levers_sweepers.grid.GridSweeper"
    max_batch_size: int | None = None
    params: dict[str, str] | None = None


@dataclass
class OptunaSweeperConf:
    """Optuna study driven through Hydra's launcher; documented key by key in conf/hparams_search/optuna.yaml."""

    _target_: str = "hydra_plugins.levers_sweepers.optuna_sweeper.OptunaSweeper"
    _recursive_: bool = False  # sampler and pruner reach the sweeper as configs (the job rebuilds the pruner)
    n_trials: int = 20
    n_jobs: int = 1
    direction: str | None = None
    storage: str | None = None
    heartbeat_interval: int = 10
    grace_period: int | None = None
    max_retry: int = 1
    study_name: str = "levers"
    sampler: Any = field(default_factory=lambda: {"_target_": "optuna.samplers.TPESampler", "seed": None})
    pruner: Any = field(default_factory=lambda: {"_target_": "optuna.pruners.NopPruner"})
    params: dict[str, str] = field(default_factory=dict)


def register() -> None:
    store = ConfigStore.instance()
    store.store(group="hydra/sweeper", name="levers_grid", node=GridSweeperConf, provider="levers")
    store.store(group="hydra/sweeper", name="levers_optuna", node=OptunaSweeperConf, provider="levers")


register()
