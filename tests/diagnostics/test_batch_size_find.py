"""Batch-size finder: full training steps on a copy, OOM caught on the fits rule, the chosen size trains the run.

Lightning's own finder has open bugs; each is a test here: the size returned was run; probes are training steps
(forward with grad, then an optimizer step), not validation; the run starts from untouched initial weights; a batch
size held by the datamodule (as levers' is) is what the run trains with.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from pytorch_lightning.callbacks import Callback
from torch import nn

from levers.build import build_data, decide_batch_size, diagnostics_settings, fused_request, module_for, trainer_factory
from levers.config.validate import validate_config
from levers.diagnostics.batch_size_find import find, ladder
from levers.errors import LeversConfigError
from levers.run import run, train

SMALL = ("diagnostics.batch_size_find.steps=3", "data.limit=400")


class OutOfMemoryAbove(nn.Module):
    """The real network, whose forward raises CUDA's out-of-memory error on batches above `limit` rows (what a
    GPU does when the batch does not fit), and records every forward it runs."""

    # (rows, training, grad on, sum of the weights) of each forward; a class attribute, which deepcopy shares
    calls: list[tuple[int, bool, bool, float]] = []

    def __init__(self, net: nn.Module, limit: int) -> None:
        super().__init__()
        self.net, self.limit = net, limit

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        weights = float(sum(p.detach().double().sum() for p in self.net.parameters()))
        OutOfMemoryAbove.calls.append((len(features), self.training, torch.is_grad_enabled(), weights))
        if len(features) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.net(features)


def built_with_limit(make_cfg, limit: int, *overrides: str):
    cfg = make_cfg(*SMALL, "diagnostics.batch_size_find.rule=fits", *overrides)
    validate_config(cfg)
    data = build_data(cfg)
    module = module_for(cfg, data)
    module.net = OutOfMemoryAbove(module.net, limit)
    OutOfMemoryAbove.calls.clear()
    return cfg, data, module


def test_ladder_doubles_from_start_and_ends_at_the_cap():
    assert ladder(8, 100) == [8, 16, 32, 64, 100]
    assert ladder(8, 64) == [8, 16, 32, 64]
    assert ladder(50, 20) == [20]


def test_fits_rule_catches_out_of_memory_and_returns_a_size_it_ran(make_cfg):
    cfg, data, module = built_with_limit(make_cfg, 100)
    result = find(diagnostics_settings(cfg).batch_size_find, trainer_factory(cfg), data, module)
    sizes = [(p["batch_size"], p["out_of_memory"]) for p in result["probes"]]
    assert sizes == [(8, False), (16, False), (32, False), (64, False), (128, True), (56, False)]
    assert result["chosen"] == 56 and result["limited_by"] == "memory"  # 64 less 10%, down to a multiple of 8
    ran = {p["batch_size"] for p in result["probes"] if not p["out_of_memory"]}
    assert result["chosen"] in ran  # never an untested size (Lightning's finder can return one)


def test_probes_are_training_steps_on_a_copy_and_leave_module_and_data_as_given(make_cfg):
    cfg, data, module = built_with_limit(make_cfg, 20)
    initial = {name: t.clone() for name, t in module.state_dict().items()}
    find(diagnostics_settings(cfg).batch_size_find, trainer_factory(cfg), data, module)
    calls = OutOfMemoryAbove.calls
    assert calls and all(training and grad for _, training, grad, _ in calls)  # no validation-only probe
    at_8 = [weight for rows, _, _, weight in calls if rows == 8]
    assert len(at_8) == 3 and len(set(at_8)) == 3  # an optimizer step between consecutive forwards
    assert all(torch.equal(initial[name], t) for name, t in module.state_dict().items())
    assert data.config.batch_size == cfg.data.batch_size  # the data module's own size is restored


def test_fits_rule_never_exceeds_max_nor_the_train_rows(make_cfg):
    cfg, data, module = built_with_limit(make_cfg, 10_000, "diagnostics.batch_size_find.max=50")
    settings = diagnostics_settings(cfg).batch_size_find
    result = find(settings, trainer_factory(cfg), data, module)
    assert result["chosen"] == 50 and result["limited_by"] == "max"
    result = find(replace(settings, max=100_000), trainer_factory(cfg), data, module)
    assert result["chosen"] == data.split_size("train") and result["limited_by"] == "train rows"


def test_first_size_out_of_memory_is_one_line_naming_start(make_cfg):
    cfg, data, module = built_with_limit(make_cfg, 4)
    with pytest.raises(LeversConfigError, match=r"diagnostics\.batch_size_find\.start"):
        find(diagnostics_settings(cfg).batch_size_find, trainer_factory(cfg), data, module)


def test_throughput_rule_picks_the_smallest_size_within_tolerance_of_the_best(make_cfg):
    cfg = make_cfg(*SMALL, "diagnostics.batch_size_find.rule=throughput", "diagnostics.batch_size_find.max=64")
    data = build_data(cfg)
    settings = diagnostics_settings(cfg).batch_size_find
    result = find(settings, trainer_factory(cfg), data, module_for(cfg, data))
    rates = {p["batch_size"]: p["rows_per_s"] for p in result["probes"]}
    assert list(rates) == [8, 16, 32, 64] and all(rate > 0 for rate in rates.values())
    good = [size for size, rate in rates.items() if rate >= (1 - settings.tolerance) * max(rates.values())]
    assert result["chosen"] == min(good) and result["rule"] == "throughput"


class FirstBatchRows(Callback):
    def __init__(self) -> None:
        self.rows: list[int] = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.rows.append(len(batch[1]))


def test_auto_trains_with_the_chosen_size_and_records_it(make_cfg):
    cfg = make_cfg(*SMALL, "data.batch_size=auto", "diagnostics.batch_size_find.max=64", "trainer.max_epochs=1")
    rows = FirstBatchRows()
    train(cfg, extra_callbacks=[rows])
    out = Path(cfg.paths.output_dir)
    probe = json.loads((out / "batch_size_find.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    chosen = summary["batch_size_auto"]["batch_size"]
    assert chosen == probe["chosen"] and chosen in {8, 16, 32, 64}
    assert rows.rows[0] == chosen  # the datamodule-held batch size is what the run trained with


def test_auto_leaves_initial_weights_and_reaches_the_fused_steps_plan(make_cfg):
    cfg = make_cfg(*SMALL, "data.batch_size=auto", "diagnostics.batch_size_find.max=32")
    validate_config(cfg)
    data = build_data(cfg)
    chosen_cfg, choice = decide_batch_size(cfg, data)
    after = module_for(chosen_cfg, data).state_dict()
    fixed = make_cfg(*SMALL, f"data.batch_size={choice['batch_size']}")
    reference = module_for(fixed, build_data(fixed)).state_dict()
    assert all(torch.equal(reference[name], t) for name, t in after.items())  # as if the size had been given
    assert data.config.batch_size == choice["batch_size"] == chosen_cfg.data.batch_size
    assert fused_request(chosen_cfg).batch_size == choice["batch_size"]
    assert cfg.data.batch_size == "auto"  # the caller's config is left as it was


def test_mode_batch_size_find_writes_the_probe_and_returns_the_size(make_cfg):
    cfg = make_cfg(*SMALL, "mode=batch_size_find", "diagnostics.batch_size_find.max=16")
    chosen = run(cfg)
    result = json.loads((Path(cfg.paths.output_dir) / "batch_size_find.json").read_text())
    assert chosen == result["chosen"] and [p["batch_size"] for p in result["probes"]] == [8, 16]


def test_batch_size_must_be_auto_or_a_positive_integer(make_cfg):
    with pytest.raises(LeversConfigError, match=r"data\.batch_size.*auto or an integer >= 1"):
        validate_config(make_cfg("data.batch_size=big"))


@pytest.mark.slow
def test_auto_batch_size_is_written_into_the_saved_config(tmp_path):
    from tests.conftest import FAST
    from tests.e2e.test_cli import finish, launch

    overrides = [*FAST, *SMALL, "trainer.max_epochs=1", "data.batch_size=auto", "diagnostics.batch_size_find.max=32"]
    code, output = finish(launch(overrides, tmp_path))
    assert code == 0, output
    (run,) = (tmp_path / "outputs" / "runs").iterdir()
    chosen = json.loads((run / "summary.json").read_text())["batch_size_auto"]["batch_size"]
    assert OmegaConf.load(run / ".hydra" / "config.yaml").data.batch_size == chosen
    assert f"-> {chosen}" in output and (run / "batch_size_find.json").exists()


def test_refused_in_one_line_with_several_processes(make_cfg):
    cfg = make_cfg(*SMALL, "data.batch_size=auto", "trainer=ddp_cpu")
    validate_config(cfg)
    with pytest.raises(LeversConfigError, match=r"data\.batch_size.*several processes"):
        decide_batch_size(cfg, build_data(cfg))


def test_probes_run_without_the_schedule_whose_metric_they_never_compute(make_cfg):
    cfg = make_cfg(
        *SMALL,
        "scheduler=plateau",
        "diagnostics.batch_size_find.max=16",
        "data.limit=100",
        "data.val_fraction=0.4",
        "data.test_fraction=0.4",
        "data.batch_size=8",
    )
    data = build_data(cfg)  # 19 train rows: 3 steps at 16 rows cross an epoch end, where a plateau schedule steps
    module = module_for(cfg, data)
    result = find(diagnostics_settings(cfg).batch_size_find, trainer_factory(cfg), data, module)
    assert [p["batch_size"] for p in result["probes"]] == [8, 16]
    assert module.schedule.scheduler is not None  # the module given keeps its own schedule
