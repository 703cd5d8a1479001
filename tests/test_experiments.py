"""Shipped presets reach at least scikit-learn's MLPClassifier on the very same split, with their fixed seed."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from levers.data.sources import load_source
from levers.data.split import split_indices
from levers.run import train
from tests.conftest import group_options


def sklearn_baseline(cfg) -> float:
    features, target = load_source(cfg.data.source)
    split = split_indices(target, cfg.data.val_fraction, cfg.data.test_fraction, cfg.seed, stratify=True)
    scaler = StandardScaler().fit(features[split.train])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(random_state=0, max_iter=500).fit(
            scaler.transform(features[split.train]), target[split.train]
        )
    return model.score(scaler.transform(features[split.test]), target[split.test])


@pytest.mark.parametrize(
    ("preset", "target"), [("digits_mlp", 0.975), ("digits_cnn", 0.985), ("breast_cancer_mlp", 0.95)]
)
def test_preset_reaches_its_target_and_the_sklearn_baseline(make_cfg, preset, target):
    cfg = make_cfg(f"experiment={preset}", "trainer.max_epochs=300")
    train(cfg)
    accuracy = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())["test"]["test/acc"]
    assert accuracy >= target
    assert accuracy >= sklearn_baseline(cfg)


@pytest.mark.parametrize("preset", group_options("experiment"))
def test_every_preset_composes(make_cfg, preset):
    cfg = make_cfg(f"experiment={preset}")
    assert cfg.seed == 42 and cfg.data.name in preset
