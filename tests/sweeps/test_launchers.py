"""Launcher and sweeper configs compose (the Slurm one is never run here: no cluster)."""

from __future__ import annotations

from hydra import compose, initialize_config_dir

from tests.conftest import CONF


def compose_hydra(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True).hydra


def test_slurm_launcher_config_composes_with_levers_defaults():
    launcher = compose_hydra("hydra/launcher=slurm", "hydra.launcher.partition=gpu").launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert (launcher.partition, launcher.timeout_min, launcher.array_parallelism) == ("gpu", 60, 64)
    assert launcher.submitit_folder.endswith("/.submitit/%j")


def test_plugins_own_submitit_slurm_config_composes_too():
    launcher = compose_hydra("hydra/launcher=submitit_slurm").launcher
    assert launcher._target_.endswith("SlurmLauncher")


def test_joblib_launcher_composes():
    assert compose_hydra("hydra/launcher=joblib", "hydra.launcher.n_jobs=2").launcher.n_jobs == 2


def test_default_sweeper_is_the_failure_tolerant_grid_and_optuna_replaces_it():
    assert compose_hydra().sweeper._target_ == "hydra_plugins.levers_sweepers.grid.GridSweeper"
    optuna = compose_hydra("hparams_search=optuna").sweeper
    assert optuna._target_ == "hydra_plugins.levers_sweepers.optuna_sweeper.OptunaSweeper"
    assert set(optuna.params) == {"optimizer.lr", "model.depth", "model.width", "regularization.dropout",
                                  "data.batch_size", "optimizer"}  # fmt: skip
