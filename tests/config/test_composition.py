"""Every option of every group composes, instantiates and trains a step."""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from levers.optim import optimizer_factory
from levers.run import train
from tests.conftest import ROOT, group_options
from tests.idx_files import write_fashion_mnist
from tests.image_files import write_digits

# Groups whose options only make sense on a matching task are paired with a data set that has it.
DATA_FOR = {
    ("loss", "bce"): "breast_cancer",
    ("loss", "mse"): "diabetes",
    ("loss", "mae"): "diabetes",
    ("loss", "huber"): "diabetes",
}
GROUPS = [
    "data",
    "scaling",
    "model",
    "loss",
    "optimizer",
    "scheduler",
    "regularization",
    "trainer",
    "callbacks",
    "logger",
]
EXTRA_OVERRIDES = {
    ("data", "table"): [f"data.path={ROOT / 'examples' / 'penguins.csv'}", "data.target=species", "data.impute=drop"],
    ("logger", "mlflow"): ["logger.mlflow.tracking_uri=sqlite:///${paths.output_dir}/mlflow.db"],
    ("model", "autoencoder"): ["data.task=reconstruction"],
}
# Options that need several processes or a GPU: composed here, trained in tests/e2e/test_ddp.py (ddp_cpu).
MULTI_DEVICE = {("trainer", "gpu"), ("trainer", "ddp"), ("trainer", "ddp_cpu")}
CASES = [(group, option) for group in GROUPS for option in group_options(group) if (group, option) not in MULTI_DEVICE]


def test_every_group_has_options():
    assert all(group_options(group) for group in GROUPS)


@pytest.mark.parametrize(("group", "option"), CASES, ids=[f"{g}={o}" for g, o in CASES])
def test_option_composes_and_trains_one_step_with_finite_loss(make_cfg, tmp_path, group, option):
    overrides = [f"{group}={option}", "trainer.fast_dev_run=true"]
    if (group, option) in DATA_FOR:
        overrides.append(f"data={DATA_FOR[group, option]}")
    if (group, option) == ("data", "fashion_mnist"):  # the real reader on tiny idx files, not the 30 MB package
        root = write_fashion_mnist(tmp_path, train_rows=200)
        overrides += [f"data.source.root={root}", "data.holdout_last=20", "data.batch_size=16"]
    if (group, option) == ("data", "images"):  # a folder of PNGs written here
        overrides += [f"data.path={write_digits(tmp_path / 'images', per_class=10, side=8)}", "data.image_size=8"]
    overrides += EXTRA_OVERRIDES.get((group, option), [])
    cfg = make_cfg(*overrides)
    OmegaConf.resolve(cfg)  # every interpolation resolves
    best = train(cfg)
    assert math.isfinite(best)


def test_multi_device_trainer_options_compose_with_their_devices(make_cfg):
    expected = {
        "gpu": ("gpu", 1, "auto", False),
        "ddp": ("gpu", -1, "ddp", True),
        "ddp_cpu": ("cpu", 2, "ddp", True),
    }
    for option, values in expected.items():
        trainer = make_cfg(f"trainer={option}", "trainer.precision=bf16-mixed").trainer
        assert (trainer.accelerator, trainer.devices, trainer.strategy, trainer.sync_batchnorm) == values
        assert trainer.precision == "bf16-mixed" and trainer.max_epochs == 3


def test_optimizer_nodes_instantiate_real_torch_classes(make_cfg):
    import torch

    for option in group_options("optimizer"):
        cfg = make_cfg(f"optimizer={option}")
        optimizer = optimizer_factory(cfg.optimizer)([torch.nn.Parameter(torch.zeros(2))])
        assert isinstance(optimizer, torch.optim.Optimizer)
        assert optimizer.param_groups[0]["lr"] == cfg.optimizer.lr


def test_regularization_fields_reach_model_and_optimizer(make_cfg):
    cfg = make_cfg("regularization=l2", "regularization.dropout=0.3")
    assert cfg.model.dropout == 0.3
    assert cfg.optimizer.weight_decay == 1e-4
