"""Optuna search as a Hydra sweeper, on current Optuna: a study in a (sqlite) storage that a later invocation resumes
and several machines can share, the direction taken from `monitor_mode`, failed trials recorded without ending the
study, and pruning: each job reports its monitored metric per epoch to its trial through the study's storage
(levers.sweeps.pruning) and stops early when the pruner says so.

Why not hydra-optuna-sweeper: on hydra-core 1.3 it pins optuna < 3 (2.10) and its sqlite storage breaks under
SQLAlchemy 2; it asks and tells trials only in the sweeping process, so a running job can never report to its trial
and nothing can be pruned. The search-space syntax here is the same as its (`tag(log, interval(1e-4, 0.1))`,
`choice(adam, sgd)`, `range(1, 5)`), so its users' configs carry over.

Faults and concurrency (issue 12), with Optuna's own machinery wherever it has some:
- `n_trials` is the study's total budget (`budget_used`): rerunning a command tops the study up to n_trials.
  Workers count and ask under one lock (`budget_lock`: PostgreSQL's advisory lock, a lock file for sqlite and
  journal files), so workers started together end with exactly n_trials; each ends once every trial has ended.
- The sweeper records a heartbeat for each trial in flight (Optuna's heartbeat thread, as `study.optimize` does);
  a trial whose worker died stops beating and, `grace_period` later, the next sweep on that storage marks it FAIL
  and re-queues its parameters once (`optuna.storages.fail_stale_trials`, `RetryHeartbeatStaleTrialCallback`).
  A live worker's trial keeps beating, so concurrent workers never fail each other's trials.
- Workers opening a fresh database together race to create Optuna's tables; the loser retries (`_retry_races`).
- Each trial is sampled with `seed + trial.number`: trial numbers are unique across workers, so two workers never
  draw the same start-up parameters, and one worker with a given seed repeats its search exactly.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

T = TypeVar("T")
TRIAL_ENV = {"storage": "LEVERS_OPTUNA_STORAGE", "study": "LEVERS_OPTUNA_STUDY", "trial": "LEVERS_OPTUNA_TRIAL_ID"}


class OptunaSweeper(Sweeper):
    def __init__(
        self,
        n_trials: int,
        n_jobs: int,
        direction: str | None,
        storage: str | None,
        heartbeat_interval: int,
        grace_period: int | None,
        max_retry: int,
        study_name: str,
        sampler: DictConfig,
        pruner: DictConfig,
        params: DictConfig | dict[str, str],
    ) -> None:
        self.n_trials, self.n_jobs, self.direction = n_trials, max(n_jobs, 1), direction
        self.storage, self.study_name = storage, study_name
        self.heartbeat_interval, self.grace_period, self.max_retry = heartbeat_interval, grace_period, max_retry
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
        study, storage = self._study(optuna, sweep_dir)
        fail_stale_trials(study)
        used = budget_used(study.get_trials(deepcopy=False))
        log.info("study %r in %s: %d of its %d trial(s) done or running", study.study_name,
                 shown(self._storage(sweep_dir)), used, self.n_trials)  # fmt: skip
        returns: list[Sequence[JobReturn]] = []
        while True:
            with ExitStack() as heartbeats:
                with budget_lock(self._storage(sweep_dir), self.study_name):  # count and ask as one step
                    remaining = self._trials_to_run(study)
                    trials = [self._ask(study, storage, space, heartbeats) for _ in range(min(self.n_jobs, remaining))]
                if not trials:
                    if not self._wait_for_other_workers(study, storage):
                        break
                    continue
                batch = [[*fixed, *trial_overrides(trial), *self._trial_env(trial, sweep_dir)] for trial in trials]
                self.validate_batch_is_legal(batch)
                results = self._launch_named_by_trial(batch, [trial.number for trial in trials])
                for trial, result in zip(trials, results, strict=True):
                    tell(study, trial, result)
            returns.append(results)
            fail_stale_trials(study)  # a dead worker's trials, re-queued for this one
        _log_best(study)
        return returns

    def _trials_to_run(self, study: Any) -> int:
        """What the budget leaves, or at least the re-queued (WAITING) trials: they count as used already, and a
        rerun must run a dead worker's retries rather than end with them queued."""
        from optuna.trial import TrialState

        trials = study.get_trials(deepcopy=False)
        waiting = sum(trial.state == TrialState.WAITING for trial in trials)
        return max(self.n_trials - budget_used(trials), waiting)

    def _wait_for_other_workers(self, study: Any, storage: Any) -> bool:
        """The budget is spent but other workers' trials still run: wait (True) rather than end, so that a worker ends
        when the whole study has, and its report in a shared sweep dir covers every trial; a dead worker's trial goes
        stale and is re-queued for this one. False: nothing runs (or no heartbeat tells a live trial from a dead)."""
        from optuna.storages._heartbeat import is_heartbeat_enabled
        from optuna.trial import TrialState

        running = sum(trial.state == TrialState.RUNNING for trial in study.get_trials(deepcopy=False))
        if not running or not is_heartbeat_enabled(storage):
            return False
        if not getattr(self, "_waiting", False):
            log.info("budget spent; waiting for %d trial(s) other workers are running", running)
            self._waiting = True
        time.sleep(min(self.heartbeat_interval, 1))
        fail_stale_trials(study)
        return True

    def _launch_named_by_trial(self, batch: list[list[str]], numbers: list[int]) -> Sequence[JobReturn]:
        """Job directories named by trial number, so a resumed sweep in the same directory overwrites nothing. A
        batch whose numbers are not consecutive (another worker asked in between) is launched a job at a time."""
        if numbers == list(range(numbers[0], numbers[0] + len(numbers))):
            return self.launcher.launch(batch, initial_job_idx=numbers[0])
        return [result for job, number in zip(batch, numbers, strict=True)
                for result in self.launcher.launch([job], initial_job_idx=number)]  # fmt: skip

    def _ask(self, study: Any, storage: Any, space: dict[str, Any], heartbeats: ExitStack) -> Any:
        """A new (or re-queued) trial, beating from the moment it exists, with its parameters sampled."""
        from optuna.storages._heartbeat import get_heartbeat_thread  # what study.optimize uses; no public alias

        with quiet_heartbeat_warnings():
            trial = study.ask()
        heartbeats.enter_context(get_heartbeat_thread(trial._trial_id, storage))
        sample(study, trial, space, self.sampler_config)
        return trial

    def _storage(self, sweep_dir: Path) -> str:
        """The configured storage, or a sqlite file in the sweep directory (resumable by pointing storage at it)."""
        return self.storage or f"sqlite:///{(sweep_dir / 'optuna.db').resolve()}"

    def _study(self, optuna: Any, sweep_dir: Path) -> tuple[Any, Any]:
        """The study and its storage (RDB: with heartbeats and the re-queueing of trials whose worker died)."""
        direction = self.direction or ("maximize" if self.config.get("monitor_mode") == "max" else "minimize")
        with quiet_heartbeat_warnings():
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(self.max_retry) if self.max_retry else None
            storage = _retry_races(lambda: open_storage(
                self._storage(sweep_dir), heartbeat_interval=self.heartbeat_interval, grace_period=self.grace_period,
                heartbeat_stale_trial_callback=retry))  # fmt: skip
        study = _retry_races(lambda: optuna.create_study(
            study_name=self.study_name, storage=storage, direction=direction,
            pruner=instantiate(self.pruner_config), load_if_exists=True))  # fmt: skip
        study.sampler = instantiate(self.sampler_config)  # reseeded per trial in _ask when a seed is set
        return study, storage

    def _trial_env(self, trial: Any, sweep_dir: Path) -> list[str]:
        """`hydra.job.env_set.*` overrides telling the job which trial it is (hydra overrides: not job levers)."""
        values = {"storage": self._storage(sweep_dir), "study": self.study_name, "trial": str(trial._trial_id)}
        declared = self.config.hydra.job.env_set  # conf/hparams_search/optuna.yaml declares the keys
        return [
            f"{'' if name in declared else '+'}hydra.job.env_set.{name}='{values[key]}'"
            for key, name in TRIAL_ENV.items()
        ]


JOURNAL = "journal:"


def open_storage(url: str, **heartbeat: Any) -> Any:
    """`journal:///shared/fs/study.log` (or `journal:relative.log`): Optuna's JournalStorage on a file, for clusters
    with a shared filesystem and no database (no heartbeats: a killed worker's trial stays RUNNING and counts);
    anything else: an SQLAlchemy URL for Optuna's RDBStorage (sqlite, postgresql, mysql), with the heartbeat."""
    import optuna

    if url.startswith(JOURNAL):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(_journal_path(url)))
    return optuna.storages.RDBStorage(sqlalchemy_url(url), **heartbeat)


def sqlalchemy_url(url: str) -> str:
    """A bare `postgresql://` URL runs on psycopg 3 (`levers[sweeps]` installs it): SQLAlchemy 2.1's default driver
    for it, while 2.0's is psycopg2. A URL naming its driver (`postgresql+psycopg2://`) is kept."""
    return "postgresql+psycopg://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url


def shown(url: str) -> str:
    """The storage URL for a log line, its password (postgresql://user:secret@host/db) masked."""
    if url.startswith(JOURNAL):
        return url
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _journal_path(url: str) -> str:
    return url.removeprefix(JOURNAL).removeprefix("//")  # journal:///abs/path -> /abs/path


@contextmanager
def budget_lock(url: str, study_name: str) -> Iterator[None]:
    """Held while a worker counts the study's trials and asks for new ones, so that workers started together never
    both take the budget's last trial: PostgreSQL's advisory lock on the study's name, or a lock file beside a
    sqlite or journal file (Optuna's, safe on NFS). Other databases: no lock (a worker asking in the same instant
    may add a trial or n_jobs over the budget)."""
    if url.startswith(JOURNAL) or (url.startswith("sqlite:///") and ":memory:" not in url):
        from optuna.storages.journal import JournalFileOpenLock

        path = _journal_path(url) if url.startswith(JOURNAL) else url.removeprefix("sqlite:///")
        lock = JournalFileOpenLock(f"{path}.budget")
        lock.acquire()
        try:
            yield
        finally:
            lock.release()
    elif url.split(":", 1)[0].split("+")[0] == "postgresql":
        import hashlib

        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        key = int.from_bytes(hashlib.sha256(f"levers:{study_name}".encode()).digest()[:8], "big", signed=True)
        engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
        try:
            with engine.connect() as connection:  # a session lock: released with the connection if the worker dies
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        finally:
            engine.dispose()
    else:
        yield


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


@contextmanager
def quiet_heartbeat_warnings() -> Iterator[None]:
    """Optuna calls its heartbeat API experimental and warns when ask() runs with a heartbeat outside
    study.optimize; this sweeper is an ask-and-tell loop that beats for its trials exactly as optimize does."""
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
        yield


def fail_stale_trials(study: Any) -> None:
    """Optuna's: RUNNING trials whose heartbeat is older than the grace period become FAIL and are re-queued."""
    import optuna

    with quiet_heartbeat_warnings():
        optuna.storages.fail_stale_trials(study)


def budget_used(trials: Sequence[Any]) -> int:
    """The trials `n_trials` counts: every trial of the study once, whatever its state (complete, pruned, failed,
    running in a live worker, queued), except a trial killed with its worker that Optuna re-queued: its retry
    counts in its place. Running trials count so that concurrent workers share one budget."""
    superseded = {number for trial in trials for number in trial.system_attrs.get("retry_history", [])}
    return sum(trial.number not in superseded for trial in trials)


def _retry_races(make: Callable[[], T], attempts: int = 20) -> T:
    """`make()`, again after a short random pause when it lost a race against another worker: processes opening a
    fresh database at once both try to create Optuna's tables (sqlite: "table version_info already exists") or
    find it locked; PostgreSQL: 'type "studydirection" already exists', a ProgrammingError). The next attempt finds
    the winner's tables and study."""
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    for attempt in itertools.count(1):
        try:
            return make()
        except (OperationalError, IntegrityError, ProgrammingError) as error:
            if attempt >= attempts or not _lost_a_race(error):
                raise
            log.info("storage busy (%s); retrying", type(error).__name__)
            time.sleep(random.uniform(0.05, 0.2) * attempt)
    raise AssertionError("unreachable")


RACE_SIGNS = ("already exists", "locked", "unique constraint", "duplicate")


def _lost_a_race(error: Exception) -> bool:
    """A table or row another worker created first, or a locked database; not a wrong path or a refused login."""
    return any(sign in str(error).lower() for sign in RACE_SIGNS)


def sample(study: Any, trial: Any, space: dict[str, Any], sampler_config: DictConfig) -> dict[str, Any]:
    """The trial's parameters, drawn by the configured sampler seeded with `seed + trial.number` (no seed: as is).

    Reseeded per trial, not once per process: every worker started with the same command would get the same
    process-wide seed and draw the same random start-up trials. Trial numbers are unique within a study, so
    workers (and resumed sweeps) draw apart, while one worker with a given seed repeats its search exactly.
    What `study.ask()` itself samples (a multivariate sampler's relative draw) still uses the previous sampler; the
    default TPE sampler draws nothing there."""
    seed = sampler_config.get("seed")
    if seed is not None:
        study.sampler = instantiate(sampler_config, seed=seed + trial.number)
    return {name: suggest(trial, name, dist) for name, dist in space.items()}  # a re-queued trial keeps its own


def suggest(trial: Any, name: str, dist: Any) -> Any:
    """Optuna's public suggest_* call for a distribution of `search_space`."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def trial_overrides(trial: Any) -> list[str]:
    return [f"{key}={_as_override_value(value)}" for key, value in trial.params.items()]


def _as_override_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return repr(value) if isinstance(value, float) else str(value)


def tell(study: Any, trial: Any, result: JobReturn) -> None:
    """Completed with a finite value: told; pruned (the job raised TrialPruned): pruned; anything else (an error, a
    diverged job's NaN): failed. A trial another worker already failed as stale stays as it is."""
    from optuna.trial import TrialState

    if result.status == JobStatus.COMPLETED and _finite(result._return_value):
        study.tell(trial, float(result._return_value), skip_if_finished=True)
    elif type(result._return_value).__name__ == "TrialPruned":
        study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
    else:
        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
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
