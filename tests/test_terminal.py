"""The terminal: live metrics on the progress bar, a final table, quiet sweeps (the help: tests/config/test_help.py)."""

from __future__ import annotations

import io
import re

import pytorch_lightning as pl
from rich.console import Console

from levers.run import train
from levers.terminal import is_quiet, print_final_table, trainer_display


def test_progress_bar_shows_live_metrics_and_the_run_ends_with_a_table(make_cfg, capsys):
    cfg = make_cfg("trainer.enable_progress_bar=true", "trainer.max_epochs=2", "data.limit=300", "quiet=false")
    train(cfg)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out
    assert re.search(r"val/loss: \d\.\d{3}", out) and re.search(r"train/loss: \d\.\d{3}", out)
    assert re.search(r"best val/loss +0\.\d+", out) and re.search(r"test/acc +0\.\d+", out)


def test_quiet_switches_off_bar_summary_and_table_and_is_the_multirun_default(make_cfg):
    cfg = make_cfg()
    assert not is_quiet(cfg.quiet, multirun=False) and is_quiet(cfg.quiet, multirun=True)
    assert not is_quiet(False, multirun=True)
    assert trainer_display(True, progress_bar=True, model_summary=True, progress_every=25) == {
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "callbacks": [],
    }
    kinds = [type(c).__name__ for c in trainer_display(False, True, True, progress_every=25)["callbacks"]]
    assert kinds == ["LiveMetricsBar", "CompactModelSummary"]
    verbose = trainer_display(False, True, True, progress_every=25, verbose=True)["callbacks"]
    assert [type(c).__name__ for c in verbose] == ["LiveMetricsBar", "RichModelSummary"]


def test_final_table_shows_best_value_and_test_metrics():
    console = Console(record=True, width=100)
    summary = {
        "data": "digits",
        "task": "multiclass",
        "monitor": "val/loss",
        "best_value": 0.0812345,
        "best_epoch": 17,
        "test": {"test/acc": 0.97777, "test/loss": 0.09},
        "output_dir": "outputs/runs/x",
    }
    print_final_table(summary, console)
    text = console.export_text()
    rows = [line.split() for line in text.splitlines()[1:]]
    assert rows[:4] == [
        ["best", "val/loss", "0.08123"],
        ["best", "epoch", "17"],
        ["test/acc", "0.9778"],
        ["test/loss", "0.09"],
    ]


def test_progress_bar_refreshes_every_progress_every_batches(make_cfg):
    from levers.terminal import LiveMetricsBar, trainer_display

    cfg = make_cfg("progress_every=7", "trainer.enable_progress_bar=true")
    display = trainer_display(False, cfg.trainer.enable_progress_bar, False, cfg.progress_every)
    bar = next(c for c in display["callbacks"] if isinstance(c, LiveMetricsBar))
    assert bar.refresh_rate == 7


class BarTasks(pl.Callback):
    """Counts the progress bar's tasks (shown or hidden) after every validation."""

    def __init__(self) -> None:
        self.counts: list[int] = []

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.counts.append(len(trainer.progress_bar_callback.progress.tasks))


def test_the_progress_bar_keeps_one_validation_task_however_many_epochs(make_cfg):
    tasks = BarTasks()
    train(make_cfg("trainer.max_epochs=6", "trainer.enable_progress_bar=true"), extra_callbacks=[tasks])
    # Lightning alone adds a hidden task per epoch; levers keeps the sanity check's, the train and one validation task.
    assert len(tasks.counts) == 7 and tasks.counts[-1] == tasks.counts[2] <= 3


def test_the_progress_bar_re_renders_at_most_ten_times_a_second_unless_forced():
    from pytorch_lightning.callbacks.progress.rich_progress import CustomProgress

    from levers.terminal import LiveMetricsBar

    renders: list[str] = []

    class RecordingProgress(CustomProgress):
        def refresh(self) -> None:
            renders.append("refresh")

        def soft_refresh(self) -> None:
            renders.append("soft")

    bar = LiveMetricsBar()
    bar.progress = RecordingProgress(console=Console(file=io.StringIO()))
    bar.refresh()
    bar.refresh()  # within 0.1 s of the first: skipped
    bar.refresh(hard=True)
    assert len(renders) == 2 and renders[-1] == "refresh"


def test_the_model_summary_lists_only_layers_with_parameters_and_one_line_of_totals(make_cfg, capsys):
    train(make_cfg("trainer.enable_model_summary=true", "trainer.max_epochs=1", "quiet=false", "model.depth=2"))
    out = capsys.readouterr().out
    layers = re.findall(r"^\s+(hidden\.\d+|head)\s+(\w+)\s+[\d.]+ ?K?\s*$", out, flags=re.MULTILINE)
    assert [kind for _, kind in layers] == ["Linear", "Linear", "Linear"]
    assert re.search(r"^MLP: [\d,]+ parameters, [\d.]+ MB$", out, flags=re.MULTILINE)
    assert "FLOPs" not in out and "ReLU" not in out and "MulticlassAccuracy" not in out


class BarTotals(pl.Callback):
    def __init__(self) -> None:
        self.seen: list[tuple[int | float, int, int]] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        bar = trainer.progress_bar_callback
        task = bar.progress.tasks[bar.train_progress_bar_id]
        mini_batches = -(-trainer.datamodule.split_size("train") // trainer.datamodule.config.batch_size)
        self.seen.append((bar.total_train_batches, int(task.completed), mini_batches))


def test_under_fused_steps_the_bar_counts_mini_batches_and_shows_rows_per_second(make_cfg, capsys):
    totals = BarTotals()
    cfg = make_cfg("trainer.enable_progress_bar=true", "trainer.max_epochs=2", "quiet=false", "data.batch_size=32")
    train(cfg, extra_callbacks=[totals])
    assert len(totals.seen) == 2
    assert all(total == done == mini_batches > 1 for total, done, mini_batches in totals.seen)
    assert re.search(r"[\d,]+ rows/s", capsys.readouterr().out)
