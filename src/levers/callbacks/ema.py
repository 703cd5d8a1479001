"""An exponential moving average of the weights (`regularization=ema`): Lightning's EMAWeightAveraging, so
validation, every checkpoint's `state_dict` and the tested weights are the averaged ones.

Lightning's callback averages after every optimizer step (on_train_batch_end), which the fused loop would call once
per chunk: `steps_per_call=auto` therefore keeps Lightning's own loop with it (levers.fused_steps), and an explicit
`steps_per_call` above 1 is refused.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import EMAWeightAveraging
from pytorch_lightning.trainer.states import TrainerFn


class EMA(EMAWeightAveraging):
    """EMAWeightAveraging with one change: a checkpoint loaded outside fit keeps the weights its `state_dict` holds
    (the average). Lightning's callback, still holding its averaged model after fit, reloads the checkpoint's
    `current_model_state` (the raw weights) into the module, so `trainer.test(ckpt_path=best)` would test the raw
    weights, not the average the checkpoint was chosen by."""

    def __init__(self, decay: float) -> None:
        super().__init__(decay=decay)

    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if trainer.state.fn == TrainerFn.FITTING:  # continuing training: the raw weights and the average, as saved
            super().on_load_checkpoint(trainer, pl_module, checkpoint)
