"""Task metrics from torchmetrics, named `<split>/<metric>` (val/acc, test/rmse, ...)."""

from __future__ import annotations

from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection, R2Score
from torchmetrics.classification import Accuracy

from levers.data.task import TaskSpec

CLASSIFICATION_METRICS = ("acc",)
REGRESSION_METRICS = ("mae", "rmse", "r2")


def metric_names(task: TaskSpec) -> tuple[str, ...]:
    return CLASSIFICATION_METRICS if task.is_classification else REGRESSION_METRICS


def build_metrics(task: TaskSpec, binary_logit: bool) -> MetricCollection:
    """`binary_logit`: the model emits one logit (bce) rather than one score per class."""
    if task.is_classification:
        if binary_logit:
            return MetricCollection({"acc": Accuracy(task="binary")})
        return MetricCollection({"acc": Accuracy(task="multiclass", num_classes=task.num_classes)})
    outputs = task.num_targets
    return MetricCollection(
        {
            "mae": MeanAbsoluteError(),
            "rmse": MeanSquaredError(squared=False),
            "r2": R2Score(multioutput="uniform_average") if outputs > 1 else R2Score(),
        }
    )


def loggable_names(task: TaskSpec) -> set[str]:
    """Every metric name a run of this task logs: what `monitor` may name."""
    names = {"train/loss", "val/loss"}
    names |= {f"val/{metric}" for metric in metric_names(task)}
    return names
