"""Task metrics from torchmetrics, named `<split>/<metric>` (val/acc, test/rmse, ...).

Classification logs, beside accuracy, what still means something when classes are imbalanced: balanced accuracy
(the mean of the per-class recalls: torchmetrics' macro-averaged accuracy), macro F1 and, for two classes, AUROC.
Every classification metric reads class probabilities of shape (rows, classes); a one-logit binary model's
sigmoid p becomes the two columns (1 - p, p) (LitModel._metric_inputs). A multi-target regression also gets each
target's own, `<split>/<metric>/<target column>`, as targets in different units do not average.

Reconstruction (an autoencoder's) is measured in scaled units, where every feature weighs alike whatever its own
units: mse and mae over every feature, r2 as the share of the features' total variance explained (torchmetrics'
variance_weighted: a constant feature, such as a blank pixel, weighs nothing instead of scoring 0), and
`code_sparsity`, the fraction of code units that are off (LitModel logs it; `near_zero_fraction` below).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

from torch import Tensor
from torchmetrics import MeanAbsoluteError, MeanSquaredError, Metric, MetricCollection, R2Score
from torchmetrics.classification import MulticlassAccuracy, MulticlassAUROC, MulticlassF1Score
from torchmetrics.wrappers import LambdaInputTransformer

from levers.data.task import TaskSpec

CLASSIFICATION_METRICS = ("acc", "bal_acc", "f1")
BINARY_METRICS = (*CLASSIFICATION_METRICS, "auroc")
REGRESSION_METRICS = ("mae", "rmse", "r2")
RECONSTRUCTION_METRICS = ("mse", "mae", "r2", "code_sparsity")
# A code unit is off for a row when |activation| <= this fraction of the row's largest |activation|: relative, so a
# code that is merely shrunk (the decoder scaling its weights back up) does not pass for a sparse one.
OFF_FRACTION = 0.01


def metric_names(task: TaskSpec) -> tuple[str, ...]:
    if task.kind == "binary":
        return BINARY_METRICS
    if task.is_reconstruction:
        return RECONSTRUCTION_METRICS
    return CLASSIFICATION_METRICS if task.is_classification else REGRESSION_METRICS


def near_zero_fraction(code: Tensor) -> Tensor:
    """Per row, the fraction of code units that are off (see OFF_FRACTION); an all-zero row is wholly off."""
    magnitude = code.detach().abs()
    return (magnitude <= OFF_FRACTION * magnitude.amax(dim=1, keepdim=True)).float().mean(dim=1)


def target_columns(target: str | Sequence[str] | None, task: TaskSpec) -> tuple[str, ...]:
    """The names a multi-target regression's targets carry: the columns of `data.target`, else target_<i>."""
    if target is not None and not isinstance(target, str) and len(target) == task.num_targets:
        return tuple(str(name) for name in target)
    return tuple(f"target_{i}" for i in range(task.num_targets))


def regression_metrics() -> dict[str, Metric]:
    return {"mae": MeanAbsoluteError(), "rmse": MeanSquaredError(squared=False), "r2": R2Score()}


def per_target_metrics(names: Sequence[str]) -> dict[str, Metric]:
    """mae/rmse/r2 of each target column alone, in its own units ("." is no key of a torch ModuleDict)."""
    metrics: dict[str, Metric] = {}
    for column, name in enumerate(names):
        pick = itemgetter((slice(None), column))  # (rows, targets) -> that target's column; picklable, unlike a lambda
        for metric, base in regression_metrics().items():
            metrics[f"{metric}/{name.replace('.', '_')}"] = LambdaInputTransformer(base, pick, pick)
    return metrics


def build_metrics(task: TaskSpec, target_names: Sequence[str] = ()) -> MetricCollection:
    """`target_names`: the columns of a multi-target regression (target_<i> when not given)."""
    if task.is_classification:
        classes = task.num_classes
        metrics = {
            "acc": MulticlassAccuracy(classes, average="micro"),
            "bal_acc": MulticlassAccuracy(classes, average="macro"),  # macro recall = balanced accuracy
            "f1": MulticlassF1Score(classes, average="macro"),
        }
        if task.kind == "binary":  # the mean of both one-vs-rest AUROCs, each equal to the binary AUROC of p
            metrics["auroc"] = MulticlassAUROC(classes, average="macro")
        return MetricCollection(metrics)
    if task.is_reconstruction:
        return MetricCollection(
            {"mse": MeanSquaredError(), "mae": MeanAbsoluteError(), "r2": R2Score(multioutput="variance_weighted")}
        )
    if task.num_targets == 1:
        return MetricCollection(regression_metrics())
    aggregate = {  # kept: one figure across targets (for `monitor`, sweeps), next to each target's own
        "mae": MeanAbsoluteError(),
        "rmse": MeanSquaredError(squared=False),
        "r2": R2Score(multioutput="uniform_average"),
    }
    names = tuple(target_names) or target_columns(None, task)
    return MetricCollection({**aggregate, **per_target_metrics(names)})


def loggable_names(task: TaskSpec) -> set[str]:
    """Every metric name a run of this task logs: what `monitor` may name."""
    names = {"train/loss", "val/loss"}
    names |= {f"val/{metric}" for metric in metric_names(task)}
    return names
