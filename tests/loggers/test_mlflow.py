"""MLflow artifacts beside a local sqlite store, MLflow's own choice for any other store."""

from __future__ import annotations

from pathlib import Path

from levers.loggers.mlflow import artifacts_beside


def test_a_relative_sqlite_store_keeps_its_artifacts_in_its_folder():
    assert artifacts_beside("sqlite:///outputs/mlflow.db") == str(Path.cwd() / "outputs" / "mlartifacts")


def test_an_absolute_sqlite_store_keeps_its_artifacts_in_its_folder(tmp_path):
    assert artifacts_beside(f"sqlite:///{tmp_path}/db/runs.db") == str(tmp_path / "db" / "mlartifacts")


def test_a_server_or_an_in_memory_store_leaves_the_choice_to_mlflow():
    assert artifacts_beside("http://mlflow.example.org:5000") is None
    assert artifacts_beside("postgresql://user@host/mlflow") is None
    assert artifacts_beside("sqlite:///:memory:") is None
    assert artifacts_beside(None) is None
