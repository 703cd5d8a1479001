"""`threads=auto | N`: free cores, cgroup quotas and the size of a step decide torch's intra-op threads."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from levers.cpu_load import busy_elsewhere, open_window
from levers.errors import LeversConfigError
from levers.run import train
from levers.threads import STEP_FLOPS_PER_THREAD, cgroup_quota, choose_threads, step_flops


def test_a_number_is_used_as_given():
    assert choose_threads(3, 0.0, 2, 1.5, None).threads == 3


def test_auto_keeps_an_omp_num_threads_from_the_environment():
    choice = choose_threads("auto", 1e12, 8, 0.0, "1")
    assert choice.threads == torch.get_num_threads() and "OMP_NUM_THREADS=1" in choice.reason


def test_auto_gives_a_small_step_one_thread_on_a_quiet_machine():
    assert choose_threads("auto", 16e6, 8, 0.0, None).threads == 1


def test_auto_gives_a_large_step_one_thread_per_share_of_work_up_to_the_free_cores():
    assert choose_threads("auto", 3 * STEP_FLOPS_PER_THREAD, 8, 0.0, None).threads == 4
    assert choose_threads("auto", 100 * STEP_FLOPS_PER_THREAD, 8, 0.0, None).threads == 8


def test_auto_leaves_the_cores_other_processes_keep_busy():
    assert choose_threads("auto", 100 * STEP_FLOPS_PER_THREAD, 8, 5.2, None).threads == 3
    assert choose_threads("auto", 100 * STEP_FLOPS_PER_THREAD, 2, 3.0, None).threads == 1  # never below one


def test_before_the_model_exists_only_the_free_cores_count():
    assert choose_threads("auto", float("inf"), 4, 1.0, None).threads == 3


def test_a_cgroup_v2_quota_is_read_in_cpus(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_quota(tmp_path) == pytest.approx(1.5)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_quota(tmp_path) is None


def test_a_cgroup_v1_quota_is_read_in_cpus(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_quota(tmp_path) == pytest.approx(2.0)
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_quota(tmp_path) is None


def test_step_flops_counts_forward_and_backward_of_a_real_batch():
    net = nn.Linear(64, 10)
    assert step_flops(net, torch.zeros(32, 64)) == 3 * 2 * 32 * 64 * 10
    assert net.training  # the count leaves the module as it found it


class _Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(8, 32, num_layers=2, batch_first=True)
        self.head = nn.Linear(32, 3)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.gru(features.view(len(features), -1, 8))[0][:, -1])


@pytest.mark.parametrize(
    "net, batch",
    [
        (nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)), (32, 64)),
        (
            nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(16, 8, 3, groups=2),
                nn.Flatten(),
                nn.Linear(8 * 6 * 6, 10),
            ),
            (16, 1, 8, 8),
        ),
        (_Recurrent(), (16, 40)),
    ],
    ids=["mlp", "cnn", "gru"],
)
def test_step_flops_agrees_with_torchs_flop_counter(net, batch):
    from torch.utils.flop_counter import FlopCounterMode

    features = torch.randn(*batch)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(features)
    assert step_flops(net, features) == pytest.approx(3 * counter.get_total_flops(), rel=0.05)


def test_a_busy_process_is_seen_as_load_elsewhere():
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        assert busy_elsewhere(min_window_s=0.5) >= 0.6
    finally:
        hog.kill()
        hog.wait()


def test_a_window_opened_earlier_is_read_without_waiting():
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        open_window()
        time.sleep(0.6)  # the run's start-up, while the other process works
        started = time.monotonic()
        busy = busy_elsewhere(min_window_s=0.5)
        assert time.monotonic() - started < 0.1
        assert busy >= 0.6
    finally:
        hog.kill()
        hog.wait()


def test_the_run_records_its_threads_in_summary_json(make_cfg):
    cfg = make_cfg("threads=1", "trainer.max_epochs=1")
    train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert summary["threads"] == {"threads": 1, "reason": "threads=1"}
    assert torch.get_num_threads() == 1


def test_zero_threads_is_refused_naming_the_key(make_cfg):
    with pytest.raises(LeversConfigError, match=r"threads=0 .*auto or an integer >= 1"):
        train(make_cfg("threads=0"))
