"""The layer monitor on planted faults: dead ReLUs from a large negative bias, symmetry from a constant init."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate

from levers.build import build
from levers.callbacks.monitor import LayerMonitor, activation_stats
from levers.diagnostics import doctor
from levers.run import train
from tests.conftest import compose_cfg

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def dead_relu_run(tmp_path_factory) -> Path:
    """ReLU net whose hidden biases start at -5: almost every unit outputs zero for every input."""
    out = tmp_path_factory.mktemp("dead")
    cfg = compose_cfg(out, "callbacks=monitor", "callbacks.monitor.every_n_steps=10", "model.bias_init=-5")
    train(cfg)
    return out


def test_large_negative_bias_init_is_reported_as_dead_relus(dead_relu_run):
    layers = json.loads((dead_relu_run / "monitor.json").read_text())["layers"]
    dead = {name: entry["stats"]["dead_frac"][-1] for name, entry in layers.items() if "dead_frac" in entry["stats"]}
    assert set(dead) == {"hidden.1", "hidden.4"}  # the two ReLUs (Linear, ReLU, Dropout, Linear, ReLU, Dropout)
    assert max(dead.values()) > 0.9


def test_monitor_stats_reach_metrics_csv_and_a_png(dead_relu_run):
    with (dead_relu_run / "metrics.csv").open() as file:
        rows = [row for row in csv.DictReader(file) if row.get("monitor/hidden.4/dead_frac")]
    assert len(rows) == 12  # 3 epochs x 40 steps, every 10th step
    assert float(rows[-1]["monitor/hidden.4/dead_frac"]) > 0.9
    assert (dead_relu_run / "monitor.png").read_bytes().startswith(PNG_MAGIC)


def test_doctor_suggests_leaky_relu_or_elu_for_dead_units(dead_relu_run):
    advice = {a.rule: a for a in doctor.advise(dead_relu_run)}
    assert "model.activation=leaky_relu" in advice["dead_units"].overrides
    assert "model.activation=elu" in advice["dead_units"].overrides


def test_constant_init_is_reported_as_identical_units(make_cfg, tmp_path):
    cfg = make_cfg("regularization=none")
    built = build(cfg)
    with torch.no_grad():
        for layer in built.module.net.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.weight.fill_(0.01)
                layer.bias.fill_(0.0)
    monitor = LayerMonitor(every_n_steps=5, output_dir=tmp_path, plot=False)
    trainer = pl.Trainer(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        callbacks=[monitor],
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(built.module, datamodule=built.data)
    layers = json.loads((tmp_path / "monitor.json").read_text())["layers"]
    identical = {n: e["stats"]["identical_units"][-1] for n, e in layers.items() if "identical_units" in e["stats"]}
    # 256 units that started equal stay equal: 255 of them duplicate another; the 10 output units differ by label.
    assert identical["hidden.0"] == 255 and identical["hidden.2"] == 255
    evidence = doctor.Evidence({}, {}, [], [], layers)
    assert [a.rule for a in doctor.diagnose(evidence)] == ["symmetry"]


def test_random_init_has_no_identical_units(dead_relu_run):
    layers = json.loads((dead_relu_run / "monitor.json").read_text())["layers"]
    assert all(
        entry["stats"]["identical_units"][-1] == 0 for entry in layers.values() if "identical_units" in entry["stats"]
    )


def test_monitor_is_off_by_default(make_cfg):
    callbacks = [type(c).__name__ for c in _instantiated(make_cfg().callbacks)]
    assert "LayerMonitor" not in callbacks and "NonFiniteGuard" in callbacks


def _instantiated(group):
    return [instantiate(node) for node in group.values() if node is not None]


def test_saturation_counts_tanh_and_sigmoid_outputs_near_their_bounds():
    tanh_out = torch.tensor([[0.999, -0.995, 0.1], [0.2, 0.0, -0.999]])
    assert activation_stats(tanh_out, torch.nn.Tanh)["saturated_frac"] == pytest.approx(3 / 6)
    sigmoid_out = torch.tensor([[0.001, 0.5], [0.995, 0.7]])
    assert activation_stats(sigmoid_out, torch.nn.Sigmoid)["saturated_frac"] == pytest.approx(2 / 4)


def test_a_unit_is_dead_only_when_zero_for_every_row_of_the_batch():
    relu_out = torch.tensor([[0.0, 0.0, 1.0], [0.0, 2.0, 0.0]])  # unit 0 dead; units 1 and 2 fire for some row
    assert activation_stats(relu_out, torch.nn.ReLU)["dead_frac"] == pytest.approx(1 / 3)


def test_layers_are_named_by_their_role_not_their_sequential_index(dead_relu_run):
    layers = json.loads((dead_relu_run / "monitor.json").read_text())["layers"]
    labels = {name: entry["label"] for name, entry in layers.items()}
    assert labels["hidden.0"] == "layer 1 Linear (256)" and labels["hidden.1"] == "layer 1 ReLU (256)"
    assert labels["hidden.4"] == "layer 2 ReLU (256)" and labels["head"] == "output Linear (10)"


def test_monitor_plot_legend_shows_the_role_names(dead_relu_run, tmp_path):
    from levers.diagnostics.plots import plot_monitor

    layers = json.loads((dead_relu_run / "monitor.json").read_text())["layers"]
    plot_monitor(layers, tmp_path / "monitor.svg")  # an SVG keeps each legend text in a comment
    drawing = (tmp_path / "monitor.svg").read_text()
    assert "layer 2 ReLU (256)" in drawing and "output Linear (10)" in drawing
    assert "hidden.4" not in drawing


def test_cnn_layers_are_counted_by_convolution_with_their_channels():
    from levers.callbacks.monitor import layer_labels
    from levers.models.cnn import CNN

    labels = layer_labels(CNN(64, 10, image_shape=[1, 8, 8], channels=(8, 16)))
    assert labels["hidden.0"] == "layer 1 Conv2d (8)" and labels["hidden.6"] == "layer 2 ReLU (16)"


def test_a_recurrent_network_without_activation_modules_is_monitored_too(tmp_path):
    cfg = compose_cfg(tmp_path, "model=rnn", "callbacks=monitor", "callbacks.monitor.every_n_steps=10",
                      "trainer.max_epochs=1")  # fmt: skip
    train(cfg)
    layers = json.loads((tmp_path / "monitor.json").read_text())["layers"]
    gru = layers["rnn"]  # weight_ih_l0 / weight_hh_l0: no `weight`, no activation module around it
    assert gru["type"] == "GRU" and gru["label"] == "layer 1 GRU (64)"
    assert len(gru["stats"]["grad_norm"]) == 4 and all(norm > 0 for norm in gru["stats"]["grad_norm"])
    assert all(ratio > 0 for ratio in gru["stats"]["update_ratio"])
