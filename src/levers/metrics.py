"""Task metrics from torchmetrics, named `<split>/<metric>` (val/acc, test/rmse, ...); a multi-target regression
also gets each target's own, `<split>/<metric>/<target column>`, as targets in different units do not average."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

from torchmetrics import MeanAbsoluteError, MeanSquaredError, Metric, MetricCollection, R2Score
from torchmetrics.classification import Accuracy
from torchmetrics.wrappers import LambdaInputTransformer

from levers.data.task import TaskSpec

CLASSIFICATION_METRICS = ("acc",)
REGRESSION_METRICS = ("mae", "rmse", "r2")


def metric_names(task: TaskSpec) -> tuple[str, ...]:
    return CLASSIFICATION_METRICS if task.is_classification else REGRESSION_METRICS


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


def build_metrics(task: TaskSpec, binary_logit: bool, target_names: Sequence[str] = ()) -> MetricCollection:
    """`binary_logit`: the model emits one logit (bce) rather than one score per class; `target_names`: the
    columns of a multi-target regression (target_<i> when not given)."""
    if task.is_classification:
        if binary_logit:
            return MetricCollection({"acc": Accuracy(task="binary")})
        return MetricCollection({"acc": Accuracy(task="multiclass", num_classes=task.num_classes)})
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
