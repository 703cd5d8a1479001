"""Lightning's W&B logger without the `anonymous` argument current wandb warns about on every run.

Lightning 2.6 always passes `anonymous=None` to `wandb.init`; wandb 0.2x deprecated the setting and prints "The
anonymous setting has no effect and will be removed in a future version" whenever it is passed at all, even as None.
Not passing it changes nothing else.
"""

from __future__ import annotations

from typing import Any

from pytorch_lightning.loggers import WandbLogger as LightningWandbLogger


class WandbLogger(LightningWandbLogger):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self._wandb_init.get("anonymous") is None:
            self._wandb_init.pop("anonymous", None)
