"""checkpoints/last.ckpt, what `resume=` continues from: written by time, and never losing an interrupted epoch.

On a small data set an epoch takes milliseconds and writing last.ckpt about as long again (digits at batch 256:
about 4 ms of a 25 ms epoch, bench/overhead.py), so the file is written at the end of an epoch only once `every_s`
seconds have passed since the previous write, and always at the end of the run's last epoch. An epoch that takes
longer than `every_s` is written every time, as before.

From the end of an epoch's validation (its metrics.csv row and summary.json count it as run) until last.ckpt holds
it, Ctrl-C and SIGTERM are held; when the epoch is not due for writing, until the end of the epoch under way, which
is written before they take effect: an interrupted run loses no epoch it finished, and its resume continues exactly
where it stopped. A signal waits at most one epoch, and only for an epoch that is still shorter than `every_s`; a
second Ctrl-C, or one in an epoch that has run longer, takes effect at once (the unwritten epochs, under `every_s` of
training, are then trained again on resume). A kill that cannot be caught loses at most `every_s` of training.

Under data parallelism every epoch is written (the ranks would have to agree on the time), as Lightning does.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from types import FrameType
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.trainer.states import TrainerFn
from torch import Tensor

from levers.checkpoint_io import HELD_SIGNALS
from levers.lightning_compat import save_epoch_checkpoint


class LastCheckpoint(ModelCheckpoint):
    """A ModelCheckpoint that keeps one file, the newest (`monitor=None`, `save_top_k=1`), written by time."""

    def __init__(self, *args: Any, every_s: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.every_s = every_s
        self._written_at = -math.inf  # time.monotonic() of the last write
        self._epoch_started = 0.0
        self._unwritten = False  # an epoch has ended that last.ckpt does not hold
        self._closing = False  # an epoch's validation has ended and its save point is still to come
        self._previous_handlers: dict[int, Any] = {}
        self._pending: list[int] = []  # signals held until the epoch under way is written

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epoch_started = time.monotonic()

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Lightning logs the epoch's row after this hook; the save point comes at on_validation_end or, when
        validation runs every epoch, at on_train_epoch_end, after every other callback's hook: hold in between."""
        if not trainer.sanity_checking and trainer.state.fn == TrainerFn.FITTING:
            self._closing = True
            self._hold_interrupts()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)  # the save point after a validation every epoch
        if self._closing:  # Lightning skipped its save point (e.g. fast_dev_run): nothing to wait for
            self._closing = False
            if not self._unwritten:
                self._deliver_held()

    def _save_topk_checkpoint(self, trainer: pl.Trainer, monitor_candidates: dict[str, Tensor]) -> None:
        """Lightning calls this at the callback's once-an-epoch save point (levers.lightning_compat lists it)."""
        self._closing = False
        if self._due(trainer):
            self._write(trainer, monitor_candidates)
        else:
            self._unwritten = True
            self._hold_interrupts()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """A run stopped after its save point (trainer.max_time checks at the epoch's very end) still ends on disk."""
        super().on_train_end(trainer, pl_module)
        if self._unwritten:
            self._write(trainer)
        self._deliver_held()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        super().on_exception(trainer, pl_module, exception)
        self._release_interrupts()

    def _due(self, trainer: pl.Trainer) -> bool:
        if trainer.world_size > 1 or self._pending or self.every_s <= 0:
            return True
        last_epoch = trainer.should_stop or trainer.current_epoch + 1 >= (trainer.max_epochs or math.inf)
        return last_epoch or time.monotonic() - self._written_at >= self.every_s

    def _write(self, trainer: pl.Trainer, monitor_candidates: dict[str, Tensor] | None = None) -> None:
        save_epoch_checkpoint(self, trainer, monitor_candidates)
        self._written_at = time.monotonic()
        self._unwritten = False
        self._deliver_held()

    def _hold_interrupts(self) -> None:
        """Hold Ctrl-C and SIGTERM (Python sees signals in the main thread only) until the next write."""
        if self._previous_handlers or threading.current_thread() is not threading.main_thread():
            return
        for sig in HELD_SIGNALS:
            previous = signal.getsignal(sig)
            if previous is not None:  # None: a handler not set from Python, left alone
                self._previous_handlers[sig] = previous
                signal.signal(sig, self._hold)

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        """Between validation and the save point the wait is milliseconds; later, at most an epoch under every_s."""
        too_long = not self._closing and time.monotonic() - self._epoch_started > self.every_s
        if self._pending or too_long:
            self._pending.append(signum)
            self._deliver_held()  # a second signal, or an epoch too long to wait for: now
            return
        self._pending.append(signum)

    def _release_interrupts(self) -> None:
        for sig, handler in self._previous_handlers.items():
            signal.signal(sig, handler)
        self._previous_handlers = {}

    def _deliver_held(self) -> None:
        """Put the handlers back, then raise what arrived meanwhile, as it arrived."""
        self._release_interrupts()
        pending, self._pending = self._pending, []
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)
