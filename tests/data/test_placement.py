"""data.on_device: the data set sits on the accelerator when it fits, so training steps copy nothing."""

from __future__ import annotations

import pytest
import torch

from levers.config.settings import data_settings
from levers.data.placement import data_device
from levers.errors import LeversConfigError
from levers.run import train

GPU, HOST, MIB = torch.device("cuda", 0), torch.device("cpu"), 2**20


def test_auto_holds_the_data_on_the_accelerator_when_it_takes_at_most_half_its_free_memory():
    assert data_device("auto", GPU, data_bytes=500 * MIB, free_bytes=1000 * MIB) == GPU


def test_auto_keeps_the_data_on_the_host_when_it_would_crowd_the_accelerator():
    assert data_device("auto", GPU, data_bytes=501 * MIB, free_bytes=1000 * MIB) == HOST


def test_auto_keeps_the_data_on_the_host_when_free_memory_is_unknown():
    assert data_device("auto", torch.device("mps"), data_bytes=1, free_bytes=None) == HOST


def test_true_that_cannot_fit_names_the_key_and_the_sizes():
    with pytest.raises(LeversConfigError, match=r"data.on_device.*2000 MiB.*1000 MiB free"):
        data_device(True, GPU, data_bytes=2000 * MIB, free_bytes=1000 * MIB)


@pytest.mark.parametrize("setting", ["auto", True, False])
def test_a_cpu_run_keeps_the_data_where_it_is(setting):
    assert data_device(setting, HOST, data_bytes=1, free_bytes=None) == HOST


def test_false_keeps_the_data_on_the_host_even_when_it_fits():
    assert data_device(False, GPU, data_bytes=1, free_bytes=1000 * MIB) == HOST


def test_a_run_with_on_device_true_trains_on_cpu(make_cfg):
    assert train(make_cfg("data.on_device=true", "trainer.max_epochs=1")) > 0


def test_on_device_accepts_only_auto_true_false(make_cfg):
    with pytest.raises(LeversConfigError, match="auto, true or false"):
        train(make_cfg("data.on_device=gpu"))


def test_setup_moves_the_jobs_tensors_and_leaves_the_shared_ones_on_the_host(make_cfg, monkeypatch):
    import pytorch_lightning as pl

    from levers.data.datamodule import TabularDataModule

    cfg = make_cfg("data.on_device=true")
    data = TabularDataModule(data_settings(cfg.data), cfg.scaling.method, cfg.seed)
    shared = dict(data.tensors)
    data.trainer = pl.Trainer(accelerator="cpu", logger=False)
    # No accelerator here: the "meta" device stands in for one, so the move branch itself runs.
    monkeypatch.setattr("levers.data.datamodule.data_device", lambda *args: torch.device("meta"))
    data.setup("fit")
    assert {t.device.type for pair in data.tensors.values() for t in pair} == {"meta"}
    assert data.tensors["train"][0].shape == shared["train"][0].shape
    assert {t.device.type for pair in shared.values() for t in pair} == {"cpu"}  # the sweep cache's copy
    batches = data.train_dataloader()
    features, target = next(iter(batches))  # the epoch's order is moved to the data's device as well
    assert features.device.type == "meta" and len(target) == cfg.data.batch_size
