"""Optuna search as a Hydra sweeper, on current Optuna: a study in a (sqlite) storage that a later invocation resumes
and several machines can share, the direction taken from `monitor_mode`, failed trials recorded without ending the
study, and pruning: each job reports its monitored metric per epoch to its trial through the study's storage
(levers.sweeps.pruning) and stops early when the pruner says so.

Why not hydra-optuna-sweeper: on hydra-core 1.3 it pins optuna < 3 (2.10) and its sqlite storage breaks under
SQLAlchemy 2; it asks and tells trials only in the sweeping process, so a running job can never report to its trial
and nothing can be pruned. The search-space syntax here is the same as its (`tag(log, interval(1e-4, 0.1))`,
`choice(adam, sgd)`, `range(1, 5)`), so its users' configs carry over.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

TRIAL_ENV = {"storage": "LEVERS_OPTUNA_STORAGE", "study": "LEVERS_OPTUNA_STUDY", "trial": "LEVERS_OPTUNA_TRIAL_ID"}


class OptunaSweeper(Sweeper):
    def __init__(
        self,
        n_trials: int,
        n_jobs: int,
        direction: str | None,
        storage: str | None,
        study_name: str,
        sampler: DictConfig,
        pruner: DictConfig,
        params: DictConfig | dict[str, str],
    ) -> None:
        self.n_trials, self.n_jobs, self.direction = n_trials, max(n_jobs, 1), direction
        self.storage, self.study_name = storage, study_name
        self.sampler_config, self.pruner_config = sampler, pruner
        self.params = {str(key): str(value) for key, value in dict(params or {}).items()}

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )

    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        try:
            import optuna
        except ImportError as error:
            raise ImportError("hparams_search=optuna needs optuna: pip install 'levers[sweeps]'") from error

        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        fixed, space = search_space(parser.parse_overrides([f"{k}={v}" for k, v in self.params.items()] + arguments))
        study = self._study(optuna, sweep_dir)
        log.info("study %r in %s: %d trial(s) so far, adding %d", study.study_name, self._storage(sweep_dir),
                 len(study.trials), self.n_trials)  # fmt: skip
        returns: list[Sequence[JobReturn]] = []
        launched = 0
        while launched < self.n_trials:
            trials = [study.ask(space) for _ in range(min(self.n_jobs, self.n_trials - launched))]
            batch = [[*fixed, *trial_overrides(trial), *self._trial_env(trial, sweep_dir)] for trial in trials]
            self.validate_batch_is_legal(batch)
            results = self.launcher.launch(batch, initial_job_idx=launched)
            for trial, result in zip(trials, results, strict=True):
                tell(study, trial, result)
            launched += len(trials)
            returns.append(results)
        _log_best(study)
        return returns

    def _storage(self, sweep_dir: Path) -> str:
        """The configured storage, or a sqlite file in the sweep directory (resumable by pointing storage at it)."""
        return self.storage or f"sqlite:///{(sweep_dir / 'optuna.db').resolve()}"

    def _study(self, optuna: Any, sweep_dir: Path) -> Any:
        direction = self.direction or ("maximize" if self.config.get("monitor_mode") == "max" else "minimize")
        study = optuna.create_study(
            study_name=self.study_name,
            storage=self._storage(sweep_dir),
            direction=direction,
            pruner=instantiate(self.pruner_config),
            load_if_exists=True,
        )
        # A resumed study gets a shifted seed, or its random start-up trials would repeat the first invocation's.
        seed = self.sampler_config.get("seed")
        shifted = {"seed": seed + len(study.trials)} if seed is not None else {}
        study.sampler = instantiate(self.sampler_config, **shifted)
        return study

    def _trial_env(self, trial: Any, sweep_dir: Path) -> list[str]:
        """`hydra.job.env_set.*` overrides telling the job which trial it is (hydra overrides: not job levers)."""
        values = {"storage": self._storage(sweep_dir), "study": self.study_name, "trial": str(trial._trial_id)}
        declared = self.config.hydra.job.env_set  # conf/hparams_search/optuna.yaml declares the keys
        return [
            f"{'' if name in declared else '+'}hydra.job.env_set.{name}='{values[key]}'"
            for key, name in TRIAL_ENV.items()
        ]


def search_space(overrides: list[Override]) -> tuple[list[str], dict[str, Any]]:
    """Sweep overrides become Optuna distributions; plain ones go to every trial unchanged. A later override of the
    same key wins, so `optimizer=adam` on the command line pins a lever the config's search space would sample."""
    fixed: dict[str, str] = {}
    space: dict[str, Any] = {}
    for override in overrides:
        key = override.get_key_element()
        fixed.pop(key, None)
        space.pop(key, None)
        if override.is_sweep_override():
            space[key] = distribution(override)
        else:
            fixed[key] = override.input_line
    return list(fixed.values()), space


def distribution(override: Override) -> Any:
    """choice(...) -> categorical; range(a, b[, step]) of ints -> int; interval(a, b) -> float; tag(log, ...) -> log."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    sweep = override.value()
    log_scale = "log" in getattr(sweep, "tags", set())
    if override.is_interval_sweep():
        if "int" in sweep.tags:
            return IntDistribution(int(sweep.start), int(sweep.end), log=log_scale)
        return FloatDistribution(float(sweep.start), float(sweep.end), log=log_scale)
    values = list(override.sweep_iterator())
    if override.is_range_sweep() and all(isinstance(v, int) for v in values) and len(values) > 1:
        return IntDistribution(values[0], values[-1], step=values[1] - values[0])
    return CategoricalDistribution(values)


def trial_overrides(trial: Any) -> list[str]:
    return [f"{key}={_as_override_value(value)}" for key, value in trial.params.items()]


def _as_override_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return repr(value) if isinstance(value, float) else str(value)


def tell(study: Any, trial: Any, result: JobReturn) -> None:
    """Completed with a finite value: told; pruned (the job raised TrialPruned): pruned; anything else: failed."""
    from optuna.trial import TrialState

    if result.status == JobStatus.COMPLETED and _finite(result._return_value):
        study.tell(trial, float(result._return_value))
    elif type(result._return_value).__name__ == "TrialPruned":
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, state=TrialState.FAIL)
        log.warning("trial %d failed (%s); the study goes on", trial.number, result._return_value)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _log_best(study: Any) -> None:
    completed = [t for t in study.trials if t.value is not None and t.state.name == "COMPLETE"]
    if completed:
        best = study.best_trial
        log.info("best trial %d of %d: value=%s params=%s", best.number, len(study.trials), best.value, best.params)
    else:
        log.warning("no trial of study %r completed", study.study_name)
