"""Input embeddings: category codes through learned tables, numeric features through periodic or piecewise maps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from levers.errors import LeversConfigError
from levers.models.embeddings import InputEmbedding, PeriodicEmbedding, PiecewiseLinearEmbedding, embedding_dim
from levers.models.mlp import MLP
from tests.exported import exported_outputs


def test_embedding_size_is_half_the_rows_capped_at_50():
    assert [embedding_dim(rows) for rows in (2, 5, 99, 301)] == [1, 3, 50, 50]


def test_each_code_column_looks_up_its_own_table_and_numeric_columns_pass_through():
    inputs = InputEmbedding(3, categorical=[[1, 4]])
    x = torch.tensor([[0.5, 3.0, -1.0], [0.5, 0.0, -1.0]])
    out = inputs(x)
    assert inputs.out_features == out.shape[1] == 2 + embedding_dim(4)
    assert out[:, :2].tolist() == [[0.5, -1.0], [0.5, -1.0]]
    torch.testing.assert_close(out[0, 2:], inputs.tables[0].weight[3])
    torch.testing.assert_close(out[1, 2:], inputs.tables[0].weight[0])  # code 0: the unseen row


def test_piecewise_edges_are_train_quantiles_and_the_encoding_is_piecewise_linear():
    train = torch.arange(101, dtype=torch.float32)[:, None]  # 0..100: quartiles at 0, 25, 50, 75, 100
    embedding = PiecewiseLinearEmbedding(1, 4, bins=4, train_features=train)
    assert embedding.edges.tolist() == [[0.0, 25.0, 50.0, 75.0, 100.0]]
    with torch.no_grad():  # read the encoding itself through an identity per-feature layer
        embedding.linear.weight.copy_(torch.eye(4)[None])
        embedding.linear.bias.zero_()
    torch.testing.assert_close(embedding(torch.tensor([[60.0]])), torch.tensor([[[1.0, 1.0, 0.4, 0.0]]]))
    above = embedding(torch.tensor([[125.0]]))  # the last bin goes on above the train range
    torch.testing.assert_close(above, torch.tensor([[[1.0, 1.0, 1.0, 2.0]]]))


def test_periodic_embedding_trains_its_frequencies():
    torch.manual_seed(0)
    embedding = PeriodicEmbedding(features=3, size=8, sigma=1.0)
    out = embedding(torch.randn(16, 3))
    assert out.shape == (16, 3, 8)
    out.sum().backward()
    assert embedding.frequencies.grad is not None and embedding.frequencies.grad.abs().sum() > 0


def test_a_numeric_embedding_skips_binary_columns_and_widens_the_rest():
    inputs = InputEmbedding(4, binary=[2, 3], numeric_embedding="periodic", size=8)
    assert inputs.out_features == 2 * 8 + 2
    out = inputs(torch.tensor([[0.1, 0.2, 1.0, 0.0]]))
    assert out[0, 16:].tolist() == [1.0, 0.0]


def test_mlp_without_embeddings_keeps_its_parameters_and_their_random_draws():
    torch.manual_seed(0)
    plain = MLP(in_features=5, out_features=2, depth=1, width=4)
    torch.manual_seed(0)
    again = MLP(in_features=5, out_features=2, depth=1, width=4, binary=[0, 1])  # a layout alone changes nothing
    assert list(plain.state_dict()) == ["hidden.0.weight", "hidden.0.bias", "head.weight", "head.bias"]
    for name, value in plain.state_dict().items():
        torch.testing.assert_close(again.state_dict()[name], value)


def test_an_unknown_numeric_embedding_is_refused_naming_the_key():
    with pytest.raises(LeversConfigError, match="model.numeric_embedding.*none, periodic, piecewise"):
        MLP(in_features=3, out_features=1, numeric_embedding="fourier")


def test_the_schema_refuses_an_unknown_numeric_embedding_at_start_up(make_cfg):
    from levers.config.validate import validate_config

    with pytest.raises(LeversConfigError, match="model.numeric_embedding"):
        validate_config(make_cfg("model.numeric_embedding=fourier"))


def test_category_codes_for_a_model_without_embedding_tables_are_refused_naming_the_key(make_cfg):
    from levers.models import build_model

    cfg = make_cfg("model=cnn")  # digits: 64 features, image_shape [1, 8, 8]
    with pytest.raises(LeversConfigError, match="data.categorical_encoding.*model=mlp"):
        build_model(cfg.model, 64, 10, {"categorical": [[0, 5]], "binary": []})


@pytest.mark.parametrize("kind", ["periodic", "piecewise"])
def test_each_numeric_embedding_trains_end_to_end(make_cfg, kind):
    from levers.run import train

    cfg = make_cfg("data=breast_cancer", "data.limit=200", "trainer.max_epochs=2", f"model.numeric_embedding={kind}")
    train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert np.isfinite(summary["test"]["test/loss"])


def high_cardinality_csv(path: Path, rows: int = 2000, levels: int = 300) -> np.ndarray:
    """An id-like column of `levels` shops carries most of the signal; one numeric column has gaps."""
    rng = np.random.default_rng(0)
    shop = rng.integers(0, levels, rows)
    effect = rng.normal(size=levels)
    size = rng.normal(size=rows)
    size[rng.random(rows) < 0.1] = np.nan
    target = 2 * effect[shop] + np.nan_to_num(size) + 0.1 * rng.normal(size=rows)
    table = pd.DataFrame({"shop": [f"s{i}" for i in shop], "size": size, "age": rng.normal(size=rows), "y": target})
    table.to_csv(path, index=False)
    return effect


@pytest.fixture(scope="module")
def shop_run(tmp_path_factory) -> tuple[dict, np.ndarray]:
    """One short real run on the shops table, the shop column embedded and the numbers through piecewise-linear
    embeddings (the two compose); its summary and the shops' effects."""
    from levers.run import train
    from tests.conftest import compose_cfg

    folder = tmp_path_factory.mktemp("shops")
    effect = high_cardinality_csv(folder / "shops.csv")
    table = ["data=table", f"data.path={folder / 'shops.csv'}", "data.target=y", "data.impute=median"]
    embedded = ["data.categorical_encoding=embedding", "data.missing_indicators=true"]
    cfg = compose_cfg(folder / "run", *table, *embedded, "model.numeric_embedding=piecewise", "trainer.max_epochs=4")
    train(cfg)
    return json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text()), effect


def test_a_high_cardinality_column_trains_as_an_embedding_and_predicts_unseen_shops(shop_run):
    from levers.serving.checkpoint import restore
    from levers.serving.predict import predict_frame

    summary, effect = shop_run
    restored = restore(summary["best_checkpoint"])
    assert restored.encoder.output_names == ["shop", "size", "size_missing", "age"]  # not 300 one-hot columns
    train_shops = len(restored.encoder.categories["shop"])  # the train split's (1,400 rows): not all 300
    assert train_shops > 250 and restored.module.net.inputs.tables[0].num_embeddings == train_shops + 1  # + unseen
    assert summary["test"]["test/r2"] > 0.3  # the shops' effects were learned (the numbers alone explain ~0.2)
    shops = [f"s{i}" for i in range(len(effect))] + ["a new shop"]
    new = pd.DataFrame({"shop": shops, "size": [0.0] * len(effect) + [np.nan], "age": 0.0})
    predicted = predict_frame(restored, new)["predicted_y"].to_numpy()
    assert np.isfinite(predicted).all()  # the new shop (and its missing size) included
    assert np.corrcoef(predicted[:-1], effect)[0, 1] > 0.8  # each shop's prediction follows its own effect


def test_the_onehot_encoding_of_the_same_table_is_hundreds_of_columns_wide(make_cfg, tmp_path):
    from levers.config.settings import data_settings
    from levers.data.prepared import prepare

    high_cardinality_csv(tmp_path / "shops.csv")
    table = ["data=table", f"data.path={tmp_path / 'shops.csv'}", "data.target=y", "data.impute=median"]
    widths = {}
    for how in ("onehot", "embedding"):
        cfg = make_cfg(*table, f"data.categorical_encoding={how}")
        widths[how] = prepare(data_settings(cfg.data), cfg.scaling.method, cfg.seed).tensors["train"][0].shape[1]
    assert widths["embedding"] == 3 and widths["onehot"] > 250 + 2


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_an_exported_embedding_model_matches_the_checkpoint(shop_run, tmp_path, fmt):
    from levers.serving.checkpoint import restore
    from levers.serving.export import export
    from levers.serving.predictor import build_predictor

    restored = restore(shop_run[0]["best_checkpoint"])
    features = torch.tensor([[1.0, 0.3, 0.0, -1.0], [0.0, 2.0, 1.0, 0.5], [17.0, -0.2, 0.0, 0.0]])
    with torch.no_grad():
        expected = build_predictor(restored.module)(features).numpy()
    path = export(restored, fmt, str(tmp_path / f"model.{fmt}"))
    exported = exported_outputs(path, fmt, features)
    np.testing.assert_allclose(exported, expected, atol=1e-5)
