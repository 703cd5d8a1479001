"""The autoencoder lever: its shapes, the start-up errors pairing it with `data.task=reconstruction`, real (short)
runs on digits, the sparsity an L1 activity penalty buys, and `levers predict emit=codes`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from levers.config.validate import validate_config
from levers.data.datamodule import TabularDataModule
from levers.data.packaged import sklearn_digits
from levers.errors import LeversConfigError
from levers.metrics import near_zero_fraction
from levers.models.autoencoder import Autoencoder
from levers.run import train
from levers.serving.checkpoint import restore
from levers.serving.export import export, sidecar
from levers.serving.predict import predict_file
from tests.conftest import ROOT, compose_cfg, levers_command
from tests.in_training import run_with

AUTOENCODER = ["data.task=reconstruction", "model=autoencoder"]


def test_the_code_has_code_size_units_and_the_output_one_value_per_feature():
    net = Autoencoder(64, 64, code_size=8, encoder_widths=[32, 16])
    rows = torch.randn(5, 64)
    assert net.encode(rows).shape == (5, 8)
    assert net(rows).shape == (5, 64)
    linears = [m.out_features for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert linears == [32, 16, 8, 16, 32, 64]  # the decoder mirrors the encoder


def test_a_relu_code_has_exact_zeros_and_a_linear_one_does_not():
    rows = torch.randn(50, 10)
    assert (Autoencoder(10, 10, code_size=6).encode(rows) == 0).any()
    assert not (Autoencoder(10, 10, code_size=6, code_activation="linear").encode(rows) == 0).any()


def test_an_autoencoder_refuses_an_output_size_other_than_its_inputs():
    with pytest.raises(LeversConfigError, match="data.task=reconstruction"):
        Autoencoder(64, 10)


def test_reconstruction_with_another_model_is_refused_naming_both_keys(make_cfg):
    with pytest.raises(LeversConfigError, match=r"^model='MLP' .*model=autoencoder with data.task=reconstruction"):
        validate_config(make_cfg("data.task=reconstruction"))


def test_an_autoencoder_without_the_reconstruction_task_is_refused_naming_both_keys(make_cfg):
    with pytest.raises(LeversConfigError, match=r"^data.task='auto' .*reconstruction with model=autoencoder"):
        validate_config(make_cfg("model=autoencoder"))


def test_reconstruction_refuses_augmentation(make_cfg):
    with pytest.raises(LeversConfigError, match=r"^data.augment='shift'"):
        validate_config(make_cfg(*AUTOENCODER, "data.augment=shift"))


def test_a_classification_loss_is_refused_for_reconstruction(make_cfg):
    with pytest.raises(LeversConfigError, match=r"^loss='cross_entropy' .*reconstruction task takes one of mse, mae"):
        train(make_cfg(*AUTOENCODER, "loss=cross_entropy"))


def test_the_autoencoder_reconstructs_digits_better_than_the_mean(make_cfg):
    overrides = ["model.code_size=16", "regularization=none", "trainer.max_epochs=15", "seed=0"]
    summary, _ = run_with(make_cfg, *AUTOENCODER, *overrides)
    assert summary["task"] == "reconstruction" and summary["loss"] == "mse"
    assert summary["test"]["test/r2"] > 0.4  # measured 0.59, 0.60, 0.59 at seeds 0, 1, 2; each pixel's mean scores 0
    assert {"test/mse", "test/mae", "test/code_sparsity"} <= set(summary["test"])


def held_out_code(summary: dict) -> tuple[float, float]:
    """(code sparsity, mse in scaled units) of the best weights on the val rows, measured outside the run."""
    restored = restore(summary["best_checkpoint"])
    features = TabularDataModule(restored.data, restored.scaling_method, restored.seed).tensors["val"][0]
    with torch.no_grad():
        code = restored.module.net.encode(features)
        mse = torch.mean((restored.module.net.head(code) - features) ** 2).item()
    return near_zero_fraction(code).mean().item(), mse


def test_a_larger_l1_activity_gives_a_sparser_code_at_a_bounded_reconstruction_cost(make_cfg):
    figures = {}
    for weight in (0.0, 1e-2):
        summary, _ = run_with(
            make_cfg,
            *AUTOENCODER,
            "model.code_size=32",
            "regularization=l1_activity",
            f"regularization.l1_activity={weight}",
            "trainer.max_epochs=20",
            "seed=0",
        )
        figures[weight] = held_out_code(summary)
    (sparsity_off, mse_off), (sparsity_on, mse_on) = figures[0.0], figures[1e-2]
    # measured at seeds 0, 1, 2: sparsity 0.45 -> 0.79, 0.49 -> 0.79, 0.40 -> 0.79; mse 1.33x, 1.30x, 1.35x
    assert sparsity_on > sparsity_off + 0.2, figures
    assert mse_on < 1.75 * mse_off, figures


@pytest.fixture(scope="module")
def autoencoder_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("autoencoder")
    train(compose_cfg(out, *AUTOENCODER, "model.code_size=8", "trainer.max_epochs=2"))
    return out


def digit_rows(path: Path, count: int = 12) -> pd.DataFrame:
    """The first `count` digits as a CSV of pixel_<i> columns (no label): new rows to predict on."""
    pixels = np.asarray(sklearn_digits()[0][:count], dtype=np.float32)
    frame = pd.DataFrame(pixels, columns=[f"pixel_{i}" for i in range(pixels.shape[1])])
    frame.to_csv(path, index=False)
    return frame


def test_predict_emit_codes_writes_the_encoder_applied_to_the_scaled_input(autoencoder_run, tmp_path):
    rows = digit_rows(tmp_path / "rows.csv")
    checkpoint = json.loads((autoencoder_run / "summary.json").read_text())["best_checkpoint"]
    summary = levers_command(
        "predict",
        tmp_path / "p",
        ckpt_path=checkpoint,
        input=tmp_path / "rows.csv",
        output=tmp_path / "c.csv",
        emit="codes",
    )
    codes = pd.read_csv(tmp_path / "c.csv")
    assert summary["emit"] == "codes" and list(codes.columns) == [f"code_{i}" for i in range(8)]
    module = restore(checkpoint).module
    with torch.no_grad():
        expected = module.net.encode(module.feature_scaler(torch.from_numpy(rows.to_numpy())))
    np.testing.assert_allclose(codes.to_numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_predict_writes_the_reconstructed_features_in_their_own_units(autoencoder_run, tmp_path):
    rows = digit_rows(tmp_path / "rows.csv")
    checkpoint = json.loads((autoencoder_run / "summary.json").read_text())["best_checkpoint"]
    predictions = predict_file(restore(checkpoint), str(tmp_path / "rows.csv"), str(tmp_path / "r.csv"))
    assert list(predictions.columns) == [f"reconstructed_pixel_{i}" for i in range(64)]
    assert 2 < predictions.to_numpy().mean() < 8  # pixel intensities are 0..16 (mean ~4.9), not scaled units
    assert np.corrcoef(predictions.to_numpy().ravel(), rows.to_numpy().ravel())[0, 1] > 0.5


def test_predict_emit_codes_of_a_classifier_names_the_key(make_cfg, tmp_path):
    cfg = make_cfg("trainer.max_epochs=1")
    train(cfg)
    digit_rows(tmp_path / "rows.csv")
    checkpoint = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())["best_checkpoint"]
    with pytest.raises(LeversConfigError, match=r"^emit='codes' .*model=autoencoder"):
        predict_file(restore(checkpoint), str(tmp_path / "rows.csv"), str(tmp_path / "c.csv"), emit="codes")


def test_eval_of_a_reconstruction_on_a_new_table_needs_no_label_column(make_cfg, tmp_path):
    penguins = pd.read_csv(ROOT / "examples" / "penguins.csv").dropna()
    penguins.to_csv(tmp_path / "train.csv", index=False)
    cfg = make_cfg(*AUTOENCODER, "data=table", f"data.path={tmp_path / 'train.csv'}", "data.target=species")
    train(cfg)
    penguins.drop(columns="species").head(40).to_csv(tmp_path / "new.csv", index=False)
    checkpoint = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())["best_checkpoint"]
    summary = levers_command("eval", tmp_path / "eval", ckpt_path=checkpoint, **{"data.path": tmp_path / "new.csv"})
    assert {"test/mse", "test/r2", "test/code_sparsity"} <= set(summary["test"])


def test_an_exported_autoencoder_describes_its_outputs_as_reconstructed_features(autoencoder_run, tmp_path):
    checkpoint = json.loads((autoencoder_run / "summary.json").read_text())["best_checkpoint"]
    path = export(restore(checkpoint), "torchscript", str(tmp_path / "model.pt"))
    description = json.loads(sidecar(path).read_text())
    assert description["task"] == "reconstruction"
    assert description["output"] == [f"reconstructed_x{i}" for i in range(64)]
