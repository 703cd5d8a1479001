"""What the terminal shows: a rich progress bar with live metrics, the model summary, a final metrics table.

Quiet mode (`quiet=true`, and by default every job of a multirun) drops all three, leaving the log lines: a sweep of
fifty jobs should read as fifty lines, not fifty progress bars.
"""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import RichModelSummary, RichProgressBar
from rich.console import Console
from rich.progress import ProgressColumn, Task
from rich.table import Table
from rich.text import Text

from levers.data.batches import InMemoryBatches
from levers.distributed import in_multirun


class RowsPerSecond(ProgressColumn):
    """Training rows per second: the bar counts mini-batches, each of the batch size."""

    def __init__(self, style: Any) -> None:
        self.style = style
        super().__init__()

    def render(self, task: Task) -> Text:
        rows, elapsed = task.fields.get("rows_per_batch"), task.elapsed
        if not rows or not elapsed or not task.completed:
            return Text("")
        # over the epoch so far: a fused epoch may advance the bar once, which leaves rich's own estimate empty
        return Text(f"{task.completed * rows / elapsed:,.0f} rows/s", style=self.style)


# Shown on the bar only when they are the monitored metric: every epoch's figures are in metrics.csv.
SECONDARY_METRICS = ("/bal_acc", "/f1", "/auroc")


class LiveMetricsBar(RichProgressBar):
    """Shows the latest epoch-level `train/*` and `val/*` values next to the bar, without the module having to log
    them with `prog_bar=True`."""

    min_refresh_interval_s = 0.1  # a human reads no faster; a re-render costs about a millisecond
    _last_refresh = float("-inf")

    def refresh(self, hard: bool = False) -> None:
        """At most ten re-renders a second: small data sets finish an epoch every few milliseconds."""
        now = time.monotonic()
        if hard or now - self._last_refresh >= self.min_refresh_interval_s:
            self._last_refresh = now
            super().refresh(hard=hard)

    def on_validation_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        # Lightning hides the previous epoch's validation bar and adds a new one, so every refresh walks one more
        # hidden task each epoch; drop the old one instead.
        if self.is_enabled and not trainer.sanity_checking and batch_idx == 0 and self.val_progress_bar_id is not None:
            self.progress.remove_task(self.val_progress_bar_id)
            self.val_progress_bar_id = None
        super().on_validation_batch_start(trainer, pl_module, batch, batch_idx, dataloader_idx)

    def configure_columns(self, trainer: pl.Trainer) -> list:
        *columns, _iterations_per_second = super().configure_columns(trainer)
        return [*columns, RowsPerSecond(style=self.theme.processing_speed)]

    @property
    def total_train_batches(self) -> int | float:
        """Mini-batches, not Lightning steps: under fused steps one step trains several (levers.fused_steps)."""
        batches = _train_batches(self.trainer)
        if batches is None or batches.steps_per_call == 1:
            return super().total_train_batches
        return batches.optimizer_steps_per_epoch()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_start(trainer, pl_module)
        batches = _train_batches(trainer)
        if self.progress is not None and self.train_progress_bar_id is not None and batches is not None:
            self.progress.update(self.train_progress_bar_id, rows_per_batch=batches.batch_size)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        batches = _train_batches(trainer)
        steps = batches.steps_per_call if batches is not None else 1
        if steps == 1:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
            return
        if self.train_progress_bar_id is None:
            self._initialize_train_progress_bar_id()
        self._update(self.train_progress_bar_id, min((batch_idx + 1) * steps, self.total_train_batches))
        self._update_metrics(trainer, pl_module)

    def get_metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
        items = super().get_metrics(trainer, pl_module)
        items.pop("v_num", None)
        monitored = getattr(trainer.checkpoint_callback, "monitor", None)
        for name, value in trainer.callback_metrics.items():
            if name.startswith(("train/", "val/")) and (name == monitored or not name.endswith(SECONDARY_METRICS)):
                items[name] = float(value)
        return items


def is_quiet(quiet: bool | None, multirun: bool | None = None) -> bool:
    """`quiet` as set; unset (null) means quiet inside a multirun and not otherwise."""
    return (in_multirun() if multirun is None else multirun) if quiet is None else bool(quiet)


class CompactModelSummary(RichModelSummary):
    """The network's layers that hold parameters, and one line of totals: no rows for the loss, scalers, metrics
    and activations (no parameters), no Mode column, no FLOPs column of zeros (Lightning counts FLOPs only with an
    example input). `verbose=true` shows Lightning's full table instead."""

    def __init__(self) -> None:
        super().__init__(max_depth=-1)

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int,
        **summarize_kwargs: Any,
    ) -> None:
        columns = dict(summary_data)
        names, kinds, params = columns["Name"], columns["Type"], columns["Params"]
        table = Table(box=None, padding=(0, 2), header_style="bold")
        for title in ("layer", "type", "params"):
            table.add_column(title, justify="right" if title == "params" else "left")
        for name, kind, count in zip(names, kinds, params, strict=True):
            if name.startswith("net.") and count.strip() != "0" and not any(n.startswith(f"{name}.") for n in names):
                table.add_row(name.removeprefix("net."), kind, count)
        console = Console()
        console.print(table)
        trainable = f"{trainable_parameters:,}" + ("" if trainable_parameters == total_parameters else " trainable")
        console.print(
            f"{kinds[names.index('net')] if 'net' in names else 'model'}: {trainable} parameters, {model_size:.3g} MB"
        )


def trainer_display(
    quiet: bool, progress_bar: bool, model_summary: bool, progress_every: int, verbose: bool = False
) -> dict[str, Any]:
    """Trainer keyword arguments: the rich callbacks, or everything off when quiet."""
    if quiet:
        return {"enable_progress_bar": False, "enable_model_summary": False, "callbacks": []}
    callbacks: list[pl.Callback] = []
    if progress_bar:
        # Each refresh re-renders the whole bar: measured ~22 ms here, 15x a digits training step, so refresh
        # every `progress_every` batches (a 15-epoch digits run: 14.1 s at every batch, 1.5 s at every 10th).
        callbacks.append(LiveMetricsBar(refresh_rate=progress_every or 1))
    if model_summary:
        callbacks.append(RichModelSummary(max_depth=2) if verbose else CompactModelSummary())
    return {"callbacks": callbacks}


def _train_batches(trainer: pl.Trainer) -> InMemoryBatches | None:
    loader = trainer.train_dataloader if trainer.state.fn == "fit" else None
    return loader if isinstance(loader, InMemoryBatches) else None


def metrics_table(title: str, rows: dict[str, float | int | str | None]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2))
    for name, value in rows.items():
        table.add_row(name, f"{value:.4g}" if isinstance(value, float) else str(value))
    return table


def print_final_table(summary: dict[str, Any], console: Console | None = None) -> None:
    """One compact table at the end of a run: the monitored best, its epoch, and the test metrics."""
    rows: dict[str, Any] = {f"best {summary['monitor']}": summary["best_value"], "best epoch": summary["best_epoch"]}
    rows.update(summary.get("test", {}))
    rows["run directory"] = summary["output_dir"]
    (console or Console()).print(metrics_table(f"levers: {summary['data']}, {summary['task']}", rows))


def print_kfold_table(summary: dict[str, Any], console: Console | None = None) -> None:
    """The one table of a k-fold run: a row per metric in `fold_metrics`, a column per fold, then mean +- std
    (metrics grow with the task, folds stay few: this way round it fits a terminal)."""
    metrics = summary["fold_metrics"]
    folds = summary["cv"]["folds_done"]
    table = Table(title=f"levers: {summary['data']}, {summary['task']}, {summary['cv']['k']}-fold cross-validation")
    table.title_justify = "left"
    table.add_column("metric")
    for fold in range(folds):
        table.add_column(f"fold {fold}", justify="right")
    table.add_column("mean +- std", justify="right", style="bold")
    for name, metric in metrics.items():
        cells = [_cell(metric["folds"][fold]) for fold in range(folds)]
        table.add_row(name, *cells, f"{metric['mean']:.4g} +- {metric['std']:.4g}")
    console = console or Console()
    console.print(table)
    console.print(f"run directory: {summary['output_dir']}")


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
