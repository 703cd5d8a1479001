"""Real loggers writing real files, read back with each tracker's own reader: the flat hyperparameters and clean
finish every tracker gets (levers.tracking)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from levers.run import train
from levers.tracking import flat_hparams


def test_hyperparameters_are_flat_with_full_dotted_names(make_cfg):
    cfg = make_cfg("trainer.max_epochs=1", "data.limit=300")
    params = flat_hparams(OmegaConf.to_container(cfg, resolve=True))
    assert params["optimizer.lr"] == cfg.optimizer.lr and params["model.depth"] == 2
    assert params["callbacks.early_stopping.patience"] == 20
    train(cfg)
    written = yaml.safe_load((Path(cfg.paths.output_dir) / "hparams.yaml").read_text())
    assert written["optimizer.lr"] == cfg.optimizer.lr and "optimizer" not in written


def test_csv_and_tensorboard_together_both_record_every_epoch(make_cfg):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = make_cfg("logger=[csv,tensorboard]", "trainer.max_epochs=2", "data.limit=300")
    train(cfg)
    out = Path(cfg.paths.output_dir)
    assert (out / "metrics.csv").read_text().count("\n") >= 3  # header, 2 epochs, test
    events = EventAccumulator(str(out / "tensorboard")).Reload()
    assert len(events.Scalars("val/loss")) == 2
    assert events.Scalars("test/acc")[0].value > 0.5


def test_mlflow_run_reads_back_params_metrics_and_artifacts(make_cfg, tmp_path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    cfg = make_cfg(
        "logger=mlflow",
        f"logger.mlflow.tracking_uri={uri}",
        "trainer.max_epochs=2",
        "data.limit=300",
    )
    train(cfg)
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("levers").experiment_id])
    assert run.data.params["optimizer.lr"] == str(cfg.optimizer.lr)
    assert run.data.params["data.name"] == "digits"
    assert len(client.get_metric_history(run.info.run_id, "val/loss")) == 2
    assert run.data.metrics["test/acc"] > 0.5
    folders = [a.path for a in client.list_artifacts(run.info.run_id)]  # one per checkpoint: best and last
    assert sorted(folders) == ["epoch_001", "last"] or "last" in folders, folders
    files = [a.path for a in client.list_artifacts(run.info.run_id, "last")]
    assert "last/last.ckpt" in files
    assert run.info.artifact_uri.startswith(f"{tmp_path}/mlartifacts/")  # beside the store, not ./mlruns


def test_wandb_offline_writes_its_run_directory(make_cfg):
    cfg = make_cfg("logger=wandb", "trainer.max_epochs=1", "data.limit=300")
    train(cfg)
    (run_dir,) = (Path(cfg.paths.output_dir) / "wandb").glob("offline-run-*")
    (records,) = run_dir.glob("run-*.wandb")  # what `wandb sync` uploads later
    # Offline mode keeps config and history only in this protobuf record log (no reader ships with wandb):
    # the dotted hyperparameter names and the metric names are stored in it as plain strings.
    content = records.read_bytes()
    assert b"optimizer.lr" in content and b"val/loss" in content and b"test/acc" in content
    assert "finishing run" in (run_dir / "logs" / "debug.log").read_text()  # closed by levers, not at exit


@pytest.mark.slow
def test_trackers_started_anywhere_write_only_under_outputs_and_print_no_known_noise(tmp_path):
    """A real `levers train` from an empty directory with MLflow and W&B (offline): the directory gains
    `outputs/` only (the run, MLflow's store and its artifacts), and the log has none of the trackers' routine
    warnings ("Experiment ... not found. Creating it.", W&B's deprecated `anonymous` setting)."""
    done = subprocess.run(
        [sys.executable, "-m", "levers", "train", "logger=[mlflow,wandb]", "trainer.max_epochs=1", "data.limit=300"],
        cwd=tmp_path,
        env={key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "MLFLOW_"))},
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs"]
    outputs = tmp_path / "outputs"
    assert sorted(p.name for p in outputs.iterdir()) == ["mlartifacts", "mlflow.db", "runs"]
    (run_dir,) = (outputs / "runs").iterdir()
    assert (run_dir / "wandb").is_dir()
    for noise in ("not found. Creating it", "anonymous setting", "Creating initial MLflow database", "Tip:"):
        assert noise not in output, noise

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{outputs}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("levers").experiment_id])
    assert len(client.get_metric_history(run.info.run_id, "val/loss")) == 1
    assert run.info.artifact_uri.startswith(f"{outputs}/mlartifacts/")
    assert any((outputs / "mlartifacts").rglob("*.ckpt"))
