"""Schemas of the `diagnostics` group: settings of `mode=lr_find | overfit | gradcheck | batch_size_find`,
`optimizer.lr=auto` and `data.batch_size=auto`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from levers.config.schema.checks import AT_LEAST_ONE, FRACTION, POSITIVE, above, at_least, checked, one_of

MODES = ("train", "lr_find", "overfit", "gradcheck", "batch_size_find")
LR_SUGGESTIONS = ("valley", "minimum_tenth", "steepest", "half_divergence")
BATCH_SIZE_RULES = ("auto", "fits", "throughput")


@dataclass
class LRFindConfig:
    """Leslie Smith's range test: the lr grows exponentially from min_lr to max_lr over num_steps batches."""

    min_lr: float = checked(1e-6, POSITIVE)  # first lr of the exponential sweep
    max_lr: float = 10.0  # last lr, unless the loss diverges first
    num_steps: int = checked(100, at_least(5))  # training batches in the sweep
    smoothing: float = checked(0.8, FRACTION)  # EMA factor of the plotted loss (0 = raw)
    # diverged once the smoothed loss exceeds this multiple of its best
    divergence_factor: float = checked(4.0, above(1))
    # what optimizer.lr=auto trains with: valley (fastai's: inside the longest fall of the loss) | minimum_tenth
    # (a tenth of the lr at the loss's minimum) | steepest | half_divergence (the guide's rule; too high with
    # Adam). README "LR range test" has the measurements behind the default.
    suggestion: str = checked("valley", one_of(*LR_SUGGESTIONS))
    # trusted only when the smoothed loss fell by this fraction of its start before the suggestion's point...
    min_drop: float = checked(0.1, FRACTION)
    # ... the fall stands out of the step-to-step noise (confidence = drop / (drop + noise)) by this much ...
    min_confidence: float = checked(0.6, FRACTION)
    # ... and the suggestion is not in the first or last `edge` fraction of the swept (log) range
    edge: float = checked(0.05, FRACTION)


@dataclass
class OverfitConfig:
    """A few fixed training batches, regularization off: a healthy model must drive their loss to ~0."""

    batches: int = checked(2, AT_LEAST_ONE)  # fixed training batches
    max_epochs: int = checked(150, AT_LEAST_ONE)  # passes over them
    loss_factor: float = checked(20.0, above(1))  # PASS needs final loss <= initial loss / loss_factor
    min_acc: float = 0.99  # ... and (classification) this accuracy on the fixed batches
    # A linear model (model.depth=0) is convex: it converges to its optimum, not to zero loss. It passes when its
    # loss fell monotonically by this factor (and the accuracy above): README "Overfit check" has the measurements.
    linear_loss_factor: float = checked(2.0, above(1))


@dataclass
class GradcheckConfig:
    """Central finite differences in float64 against autograd, on a tiny batch."""

    batch_size: int = checked(4, AT_LEAST_ONE)  # rows in the tiny batch
    # coordinates checked per parameter tensor (plus one random direction)
    samples_per_tensor: int = checked(8, AT_LEAST_ONE)
    eps: float = checked(1e-6, POSITIVE)  # finite-difference step
    tolerance: float = checked(1e-4, POSITIVE)  # max relative error allowed


@dataclass
class BatchSizeFindConfig:
    """Full training steps (forward, backward, optimizer step) at doubling batch sizes, on the run's own device.

    fits: the largest size that ran before an out-of-memory error, less `margin` (an accelerator's rule);
    throughput: the smallest size whose rows/s is within `tolerance` of the best measured (small batches
    generalize better; a CPU's rule); auto: fits on an accelerator, throughput on a CPU.
    """

    rule: str = checked("auto", one_of(*BATCH_SIZE_RULES))
    start: int = checked(8, AT_LEAST_ONE)  # first size probed; then doubled
    max: int = checked(4096, AT_LEAST_ONE)  # never more (nor more than the train split's rows)
    steps: int = checked(8, at_least(2))  # training steps per size; the first is a warm-up, not timed
    tolerance: float = checked(0.5, FRACTION)  # throughput: rows/s at least (1 - tolerance) x the best
    margin: float = checked(0.1, FRACTION)  # fits: this fraction below the largest size that ran, when memory ran out


@dataclass
class DiagnosticsConfig:
    lr_find: LRFindConfig = field(default_factory=LRFindConfig)
    overfit: OverfitConfig = field(default_factory=OverfitConfig)
    gradcheck: GradcheckConfig = field(default_factory=GradcheckConfig)
    batch_size_find: BatchSizeFindConfig = field(default_factory=BatchSizeFindConfig)


OPTIONS: dict[str, dict[str, Any]] = {"diagnostics": {"diagnostics": DiagnosticsConfig}}
