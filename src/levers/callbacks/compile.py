"""`trainer.compile=true`: the network's forward through torch.compile (TorchInductor; on a CPU it needs a C++
compiler), for the speed of fused kernels once the first steps have paid for compiling.

The network is compiled in place (`nn.Module.compile`), not wrapped: its parameters keep their names (no
`_orig_mod.` prefix), so a checkpoint of a compiled run loads into the uncompiled model that `levers eval`,
`predict` and `export` rebuild, and a run can continue from it either way.
"""

from __future__ import annotations

import pytorch_lightning as pl


class CompileNetwork(pl.Callback):
    """Compiles `pl_module.net` once, when the Trainer first sets the module up (fit, or test alone)."""

    fused_steps_safe = True  # acts in setup only

    def __init__(self) -> None:
        self.compiled = False

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if not self.compiled:
            pl_module.net.compile()
            self.compiled = True
