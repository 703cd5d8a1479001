"""hparams_search=optuna, in-process: a sqlite study that a second invocation resumes, the leaderboard agreeing with
the study, pruning from inside the running jobs, and the search-space syntax."""

from __future__ import annotations

import csv
import json

import optuna
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from hydra_plugins.levers_sweepers.optuna_sweeper import budget_used, sample, search_space
from tests.sweeps.conftest import run_multirun

SMALL_SPACE = ["model.width=choice(16,32)", "data.batch_size=choice(32,64)"]  # the rest from conf/hparams_search


@pytest.fixture(scope="module")
def study_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("optuna")
    storage = f"sqlite:///{root / 'study.db'}"
    common = ["hparams_search=optuna", f"hydra.sweeper.storage={storage}", *SMALL_SPACE]
    with pytest.MonkeyPatch.context() as monkeypatch:
        first = run_multirun(monkeypatch, root / "first", *common, "hydra.sweeper.n_trials=4")
        after_first = optuna.load_study(study_name="levers", storage=storage)
        counts = [len(after_first.trials)]
        best_after_first = after_first.best_trial
        second = run_multirun(monkeypatch, root / "second", *common, "hydra.sweeper.n_trials=5")  # the total
    counts.append(len(optuna.load_study(study_name="levers", storage=storage).trials))
    return root, (first, second), counts, best_after_first


def test_optuna_writes_a_sqlite_study_that_a_second_invocation_resumes(study_runs):
    root, codes, counts, _ = study_runs
    assert codes == (0, 0)
    assert (root / "study.db").exists()
    assert counts == [4, 5]
    assert sorted(p.name for p in (root / "second").iterdir() if p.is_dir()) == ["4"]  # named by trial number


def test_best_trial_params_match_the_leaderboards_best_row(study_runs):
    root, _, _, best = study_runs
    top = next(csv.DictReader((root / "first" / "leaderboard.csv").open()))
    assert float(top["val/loss"]) == pytest.approx(best.value, rel=1e-5)
    for key, value in best.params.items():
        assert top[key] == (repr(value) if isinstance(value, float) else str(value)), key


def test_trials_sample_every_lever_of_the_search_space(study_runs):
    _, _, _, best = study_runs
    expected = {"optimizer.lr", "model.depth", "model.width", "regularization.dropout", "data.batch_size", "optimizer"}
    assert set(best.params) == expected


def test_direction_follows_monitor_mode_and_pruning_stops_hopeless_trials(tmp_path, monkeypatch):
    storage = f"sqlite:///{tmp_path / 'pruned.db'}"
    pruner = ["hydra.sweeper.pruner._target_=optuna.pruners.ThresholdPruner", "~hydra.sweeper.pruner.n_startup_trials",
              "+hydra.sweeper.pruner.lower=0.99"]  # fmt: skip  # val/acc below 0.99 after the warm-up: prune
    code = run_multirun(monkeypatch, tmp_path / "sweep", "hparams_search=optuna", f"hydra.sweeper.storage={storage}",
                        "hydra.sweeper.n_trials=1", "hydra.sweeper.pruner.n_warmup_steps=1", "trainer.max_epochs=4",
                        "monitor=val/acc", "monitor_mode=max", *SMALL_SPACE, *pruner)  # fmt: skip
    study = optuna.load_study(study_name="levers", storage=storage)
    assert code == 0  # pruned trials are not failures
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert [trial.state for trial in study.trials] == [TrialState.PRUNED]
    assert sorted(study.trials[0].intermediate_values) == [0, 1]  # reported by the job, epoch by epoch
    summary = json.loads((tmp_path / "sweep" / "0" / "summary.json").read_text())
    assert summary["status"] == "pruned" and summary["epochs_run"] < 4 and "TrialPruned" in summary["error"]


def test_a_failed_trial_is_recorded_and_the_study_goes_on(tmp_path, monkeypatch):
    storage = f"sqlite:///{tmp_path / 'failing.db'}"
    code = run_multirun(monkeypatch, tmp_path / "sweep", "hparams_search=optuna", f"hydra.sweeper.storage={storage}",
                        "hydra.sweeper.n_trials=2", "loss=mse")  # fmt: skip  # mse cannot train a classifier
    study = optuna.load_study(study_name="levers", storage=storage)
    assert [trial.state for trial in study.trials] == [TrialState.FAIL, TrialState.FAIL]
    assert code == 1
    summary = json.loads((tmp_path / "sweep" / "1" / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["error"].startswith("LeversConfigError: loss='mse'")


def parse(*overrides: str):
    return search_space(OverridesParser.create().parse_overrides(list(overrides)))


def test_search_space_syntax_maps_to_optuna_distributions():
    fixed, space = parse("optimizer.lr=tag(log, interval(1e-4, 1e-1))", "model.depth=range(1, 5)",
                         "optimizer=choice(adam, sgd)", "data.batch_size=16,32", "trainer.max_epochs=3")  # fmt: skip
    assert fixed == ["trainer.max_epochs=3"]
    assert space == {
        "optimizer.lr": FloatDistribution(1e-4, 1e-1, log=True),
        "model.depth": IntDistribution(1, 4),
        "optimizer": CategoricalDistribution(["adam", "sgd"]),
        "data.batch_size": CategoricalDistribution([16, 32]),
    }


def test_a_plain_override_pins_a_lever_the_search_space_would_sample():
    fixed, space = parse("optimizer=choice(adam, sgd)", "model.depth=range(1, 3)", "optimizer=nadam")
    assert fixed == ["optimizer=nadam"] and list(space) == ["model.depth"]


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_the_budget_counts_every_trial_once_and_a_killed_trials_retry_in_its_place():
    study = optuna.create_study()
    for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL):
        study.add_trial(optuna.create_trial(state=state, value=1.0 if state == TrialState.COMPLETE else None))
    study.ask()  # running in a live worker: counts, so concurrent workers share the budget
    assert budget_used(study.get_trials()) == 4
    killed = study.ask()
    killed.suggest_float("x", 0.0, 1.0)
    study.tell(killed, state=TrialState.FAIL)  # what fail_stale_trials does to a dead worker's trial ...
    retry_stale_trial = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
    retry_stale_trial(study, study.trials[killed.number])  # ... before Optuna's callback re-queues its parameters
    assert [t.state for t in study.trials[-2:]] == [TrialState.FAIL, TrialState.WAITING]
    assert budget_used(study.get_trials()) == 5  # the retry counts, the killed trial no more


SAMPLER = OmegaConf.create({"_target_": "optuna.samplers.TPESampler", "seed": 3})
SPACE = {"lr": FloatDistribution(1e-4, 1e-1, log=True), "depth": IntDistribution(1, 4)}


def draws(study, count: int) -> list[dict]:
    return [sample(study, study.ask(), SPACE, SAMPLER) for _ in range(count)]


def test_each_trial_samples_with_seed_plus_its_number_reproducible_and_apart():
    first, again = draws(optuna.create_study(), 4), draws(optuna.create_study(), 4)
    assert first == again  # one worker with a given seed repeats its search
    assert len({tuple(params.items()) for params in first}) == 4
    storage = optuna.storages.InMemoryStorage()  # two workers on one study, started with the same command
    workers = [optuna.create_study(storage=storage, study_name="s"), optuna.load_study(study_name="s", storage=storage)]
    interleaved = [draws(workers[number % 2], 1)[0] for number in range(4)]
    assert interleaved == first  # trial k draws the same whichever worker asks for it: never a repeat


def test_a_storage_that_cannot_be_opened_fails_at_once_rather_than_being_retried(tmp_path):
    import time

    import optuna
    from sqlalchemy.exc import OperationalError

    from hydra_plugins.levers_sweepers.optuna_sweeper import _retry_races

    url = f"sqlite:///{tmp_path}/no/such/folder/optuna.db"
    started = time.monotonic()
    with pytest.raises(OperationalError, match="unable to open database file"):
        _retry_races(lambda: optuna.storages.RDBStorage(url))
    assert time.monotonic() - started < 5


def test_a_journal_file_storage_holds_the_study_for_clusters_without_a_database(tmp_path, monkeypatch):
    from hydra_plugins.levers_sweepers.optuna_sweeper import open_storage

    url = f"journal://{tmp_path / 'study.log'}"  # journal:///abs/path
    code = run_multirun(monkeypatch, tmp_path / "sweep", "hparams_search=optuna", f"hydra.sweeper.storage={url}",
                        "hydra.sweeper.n_trials=2", *SMALL_SPACE)  # fmt: skip
    storage = open_storage(url)
    assert code == 0 and isinstance(storage, optuna.storages.JournalStorage)
    study = optuna.load_study(study_name="levers", storage=storage)
    assert [trial.state for trial in study.trials] == [TrialState.COMPLETE] * 2
    assert all(trial.intermediate_values for trial in study.trials)  # the jobs reported through the journal too
    assert not list(tmp_path.glob("*.lock"))  # the budget lock file is gone once released
