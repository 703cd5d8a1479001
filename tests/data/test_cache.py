"""The per-process data cache: jobs with the same data config share one prepared data set, no others do."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

import levers.data.prepared as prepared_module
from levers.build import build
from levers.config.settings import data_settings
from levers.data import cache
from levers.data.datamodule import TabularDataModule
from levers.errors import LeversConfigError

SMALL = "data.limit=300"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def source_loads(monkeypatch) -> list[str]:
    """Every call of the real source loader, by the source's target."""
    calls: list[str] = []
    real = prepared_module.load_source

    def counted(source):
        calls.append(source.get("_target_"))
        return real(source)

    monkeypatch.setattr(prepared_module, "load_source", counted)
    return calls


def data_module(cfg) -> TabularDataModule:
    return TabularDataModule(data_settings(cfg.data), cfg.scaling.method, cfg.seed)


def same_tensors(a: TabularDataModule, b: TabularDataModule) -> bool:
    return all(a.tensors[s][i] is b.tensors[s][i] for s in ("train", "val", "test") for i in (0, 1))


def test_a_second_job_with_the_same_data_config_gets_the_identical_tensors(make_cfg, source_loads):
    first, second = data_module(make_cfg(SMALL)), data_module(make_cfg(SMALL))
    assert source_loads == ["levers.data.packaged.sklearn_digits"]
    assert same_tensors(first, second)


def test_a_batch_size_change_alone_reuses_the_data(make_cfg, source_loads):
    first = data_module(make_cfg(SMALL, "data.batch_size=16"))
    second = data_module(make_cfg(SMALL, "data.batch_size=64", "data.eval_batch_size=100"))
    assert len(source_loads) == 1 and same_tensors(first, second)
    assert (first.config.batch_size, second.config.batch_size) == (16, 64)  # each job batches its own way


@pytest.mark.parametrize("change", ["scaling=minmax", "seed=7", "data.limit=250", "data.val_fraction=0.2"])
def test_a_change_to_scaling_seed_or_rows_loads_anew(make_cfg, source_loads, change):
    first, second = data_module(make_cfg(SMALL)), data_module(make_cfg(SMALL, change))
    assert len(source_loads) == 2
    assert first.tensors["train"][0] is not second.tensors["train"][0]
    assert not torch.equal(first.tensors["train"][0], second.tensors["train"][0])


def test_the_batch_size_check_still_runs_on_a_cache_hit(make_cfg, source_loads):
    data_module(make_cfg(SMALL))
    with pytest.raises(LeversConfigError, match=r"data.batch_size=5000 .* at most the train split's size \(210 rows\)"):
        data_module(make_cfg(SMALL, "data.batch_size=5000"))
    assert len(source_loads) == 1


def test_each_job_gets_its_own_copy_of_the_fitted_scalers(make_cfg):
    first, second = data_module(make_cfg(SMALL)), data_module(make_cfg(SMALL))
    assert first.feature_scaler is not second.feature_scaler
    assert first.feature_scaler.offset.data_ptr() != second.feature_scaler.offset.data_ptr()
    assert torch.equal(first.feature_scaler.scale, second.feature_scaler.scale)
    # Buffers only, nothing an optimizer could update:
    assert list(first.feature_scaler.parameters()) == [] and list(first.target_scaler.parameters()) == []


def test_loading_a_checkpoint_into_one_jobs_scaler_leaves_the_next_job_untouched(make_cfg):
    first = data_module(make_cfg(SMALL))
    first.feature_scaler.load_state_dict({"offset": torch.full((64,), 9.0), "scale": torch.full((64,), 9.0)})
    second = data_module(make_cfg(SMALL))
    assert float(second.feature_scaler.scale.max()) != 9.0


def test_a_hit_builds_the_same_initial_model_as_a_miss(make_cfg, source_loads):
    miss, hit = build(make_cfg(SMALL)), build(make_cfg(SMALL))
    assert len(source_loads) == 1
    for (name, a), b in zip(miss.module.state_dict().items(), hit.module.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_an_edited_table_file_is_loaded_again(make_cfg, tmp_path, source_loads):
    path = tmp_path / "rows.csv"
    frame = pd.DataFrame({"x": [float(i) for i in range(40)], "y": [float(i % 7) + 0.5 for i in range(40)]})
    frame.to_csv(path, index=False)
    table = ["data=table", f"data.path={path}", "data.target=y", "data.batch_size=4"]
    before = data_module(make_cfg(*table))
    frame.assign(x=frame.x * 100).to_csv(path, index=False)
    after = data_module(make_cfg(*table))
    assert len(source_loads) == 2
    assert not torch.equal(before.feature_scaler.scale, after.feature_scaler.scale)


def test_only_the_last_few_data_sets_are_kept(make_cfg, source_loads):
    seeds = [f"seed={seed}" for seed in range(cache.MAX_ENTRIES + 1)]
    for seed in seeds:
        data_module(make_cfg(SMALL, seed))
    data_module(make_cfg(SMALL, seeds[-1]))  # the newest: still there
    assert len(source_loads) == len(seeds)
    data_module(make_cfg(SMALL, seeds[0]))  # the oldest: dropped, loaded again
    assert len(source_loads) == len(seeds) + 1


def test_beyond_the_byte_budget_only_the_newest_data_set_is_kept(make_cfg, source_loads, monkeypatch):
    monkeypatch.setattr(cache, "MAX_BYTES", 1)
    for seed in ("seed=0", "seed=1", "seed=1", "seed=0"):
        data_module(make_cfg(SMALL, seed))
    assert len(source_loads) == 3  # seed 1 reused once; seed 0 dropped when seed 1 came, loaded again
