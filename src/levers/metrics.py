"""Task metrics from torchmetrics, named `<split>/<metric>` (val/acc, test/rmse, ...).

Classification logs, beside accuracy, what still means something when classes are imbalanced: balanced accuracy
(the mean of the per-class recalls: torchmetrics' macro-averaged accuracy), macro F1 and, for two classes, AUROC.
Every classification metric reads class probabilities of shape (rows, classes); a one-logit binary model's
sigmoid p becomes the two columns (1 - p, p) (LitModel._metric_inputs).
"""

from __future__ import annotations

from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection, R2Score
from torchmetrics.classification import MulticlassAccuracy, MulticlassAUROC, MulticlassF1Score

from levers.data.task import TaskSpec

CLASSIFICATION_METRICS = ("acc", "bal_acc", "f1")
BINARY_METRICS = (*CLASSIFICATION_METRICS, "auroc")
REGRESSION_METRICS = ("mae", "rmse", "r2")


def metric_names(task: TaskSpec) -> tuple[str, ...]:
    if task.kind == "binary":
        return BINARY_METRICS
    return CLASSIFICATION_METRICS if task.is_classification else REGRESSION_METRICS


def build_metrics(task: TaskSpec) -> MetricCollection:
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
