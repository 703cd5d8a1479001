"""Range and consistency checks that types alone cannot express; each failure names key, value and allowed range.

Run before any data is loaded or any model built, so a bad value costs milliseconds, not a training run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass

from omegaconf import DictConfig, OmegaConf

from levers.config.schema.diagnostics import LR_SUGGESTIONS, MODES
from levers.data.scaling import SCALING_METHODS
from levers.errors import LeversConfigError
from levers.models.activations import ACTIVATIONS
from levers.models.init import DISTRIBUTIONS, INIT_SCHEMES
from levers.models.mlp import SHAPES


@dataclass(frozen=True)
class Rule:
    key: str
    accepts: Callable[[object], bool]
    allowed: str


def _positive(v) -> bool:
    return v > 0


def _fraction(v) -> bool:
    return 0 <= v < 1


def _lr(v) -> bool:
    return v == "auto" or (isinstance(v, int | float) and not isinstance(v, bool) and v > 0)


def _int_in(low: int, high: int) -> Callable[[object], bool]:
    """An integer (not a bool, which is an int to Python) in [low, high]."""
    return lambda v: type(v) is int and low <= v <= high


# Bounds that reject nonsense (model.depth=1000000 would build a million layers before failing) yet allow every
# real use: a plain MLP stops training well before 64 layers, and a 65536-wide layer already holds 4e9 weights.
MAX_SEED = 2**32 - 1  # numpy's seed range, which pl.seed_everything passes the seed to
MAX_DEPTH, MAX_WIDTH = 64, 65536


def _one_of(*choices: str) -> tuple[Callable[[object], bool], str]:
    return (lambda v: v in choices), f"one of {', '.join(choices)}"


RULES: tuple[Rule, ...] = (
    Rule("seed", _int_in(0, MAX_SEED), f"an integer in 0..{MAX_SEED}"),
    Rule("mode", *_one_of(*MODES)),
    Rule("optimizer.lr", _lr, "> 0, or auto (an LR range test picks it)"),
    Rule("optimizer.weight_decay", lambda v: v >= 0, ">= 0"),
    Rule("optimizer.momentum", _fraction, "in [0, 1)"),
    Rule("regularization.dropout", _fraction, "in [0, 1)"),
    Rule("regularization.weight_decay", lambda v: v >= 0, ">= 0"),
    Rule("regularization.l1", lambda v: v >= 0, ">= 0"),
    Rule("regularization.l1_activity", lambda v: v >= 0, ">= 0"),
    Rule("regularization.swa_lr", lambda v: v is None or v > 0, "null (off) or > 0"),
    Rule("regularization.swa_epoch_start", lambda v: v >= 0, ">= 0"),
    Rule("data.holdout_last", lambda v: v is None or v >= 1, "null or >= 1"),
    Rule("model.dropout", _fraction, "in [0, 1)"),
    Rule("model.depth", _int_in(0, MAX_DEPTH), f"0..{MAX_DEPTH} hidden layers (0 = a linear model)"),
    Rule("model.width", _int_in(1, MAX_WIDTH), f"1..{MAX_WIDTH} units per hidden layer"),
    Rule("model.hidden_size", _int_in(1, MAX_WIDTH), f"1..{MAX_WIDTH}"),
    Rule("model.num_layers", _int_in(1, MAX_DEPTH), f"1..{MAX_DEPTH}"),
    Rule("model.activation", *_one_of(*ACTIVATIONS)),
    Rule("model.init", *_one_of(*INIT_SCHEMES)),
    Rule("model.init_distribution", *_one_of(*DISTRIBUTIONS)),
    Rule("model.shape", *_one_of(*SHAPES)),
    Rule("scaling.method", *_one_of(*SCALING_METHODS)),
    Rule("data.batch_size", lambda v: v >= 1, ">= 1"),
    Rule("data.eval_batch_size", lambda v: v >= 1, ">= 1"),
    Rule("data.val_fraction", _fraction, "in [0, 1)"),
    Rule("data.test_fraction", _fraction, "in [0, 1)"),
    Rule("data.limit", lambda v: v is None or v >= 2, "null or >= 2"),
    Rule("data.folds", lambda v: v >= 1, ">= 1 (1: one train/val split; k >= 2: k-fold cross-validation)"),
    Rule("data.on_device", lambda v: v == "auto" or isinstance(v, bool), "auto, true or false"),
    Rule("data.task", *_one_of("auto", "multiclass", "binary", "regression")),
    Rule("data.target_scaling", *_one_of("standard", "none")),
    Rule("monitor_mode", *_one_of("min", "max")),
    Rule("progress_every", lambda v: v >= 1, ">= 1"),
    Rule("steps_per_call", lambda v: v == "auto" or (type(v) is int and v >= 1), "auto or an integer >= 1"),
    Rule("scheduler.interval", *_one_of("epoch", "step")),
    Rule("trainer.max_epochs", lambda v: v >= 1 or v == -1, ">= 1 (or -1 for no limit)"),
    Rule("trainer.gradient_clip_val", lambda v: v is None or v > 0, "null or > 0"),
    Rule("trainer.gradient_clip_algorithm", *_one_of("norm", "value")),
    Rule("trainer.num_nodes", lambda v: v >= 1, ">= 1"),
    Rule("trainer.accumulate_grad_batches", lambda v: v >= 1, ">= 1"),
    Rule("trainer.check_val_every_n_epoch", lambda v: v >= 1, ">= 1"),
    Rule("trainer.log_every_n_steps", lambda v: v >= 1, ">= 1"),
    Rule("callbacks.early_stopping.patience", lambda v: v >= 0, ">= 0 (epochs without improvement)"),
    Rule("callbacks.early_stopping.min_delta", lambda v: v >= 0, ">= 0"),
    Rule("callbacks.model_checkpoint.save_top_k", lambda v: v >= -1, ">= -1 (-1: every epoch, 0: none)"),
    Rule("callbacks.model_checkpoint.every_n_epochs", lambda v: v >= 1, ">= 1"),
    Rule("callbacks.last_checkpoint.every_n_epochs", lambda v: v >= 1, ">= 1"),
    Rule("callbacks.periodic_checkpoint.every_n_epochs", lambda v: v >= 1, ">= 1"),
    Rule("diagnostics.lr_find.min_lr", _positive, "> 0"),
    Rule("diagnostics.lr_find.num_steps", lambda v: v >= 5, ">= 5"),
    Rule("diagnostics.lr_find.smoothing", _fraction, "in [0, 1)"),
    Rule("diagnostics.lr_find.divergence_factor", lambda v: v > 1, "> 1"),
    Rule("diagnostics.lr_find.suggestion", *_one_of(*LR_SUGGESTIONS)),
    Rule("diagnostics.overfit.batches", lambda v: v >= 1, ">= 1"),
    Rule("diagnostics.overfit.max_epochs", lambda v: v >= 1, ">= 1"),
    Rule("diagnostics.overfit.loss_factor", lambda v: v > 1, "> 1"),
    Rule("diagnostics.gradcheck.batch_size", lambda v: v >= 1, ">= 1"),
    Rule("diagnostics.gradcheck.samples_per_tensor", lambda v: v >= 1, ">= 1"),
    Rule("diagnostics.gradcheck.eps", _positive, "> 0"),
    Rule("diagnostics.gradcheck.tolerance", _positive, "> 0"),
    Rule("callbacks.monitor.every_n_steps", lambda v: v >= 1, ">= 1"),
    Rule("callbacks.adagrad_reset.every_n_epochs", lambda v: v is None or v >= 1, "null (never) or >= 1"),
    Rule("callbacks.nonfinite_guard.every_n_steps", lambda v: v >= 1, ">= 1"),
    Rule("callbacks.nonfinite_guard.divergence_factor", lambda v: v is None or v > 1, "null (NaN/inf only) or > 1"),
)


def validate_config(cfg: DictConfig) -> None:
    """Raise LeversConfigError on the first unknown key or value outside its allowed range."""
    _reject_unknown_keys(cfg, "")
    _lr_as_float(cfg)
    for rule in RULES:
        value = OmegaConf.select(cfg, rule.key, default=_ABSENT)
        if value is _ABSENT:
            continue
        try:
            ok = rule.accepts(value)
        except TypeError:
            ok = False
        if not ok:
            raise LeversConfigError(rule.key, value, rule.allowed)
    _validate_splits(cfg)
    _validate_fold(cfg)
    _validate_adagrad_reset(cfg)


def _validate_adagrad_reset(cfg: DictConfig) -> None:
    """The reset zeroes Adagrad's accumulators; any other optimizer has none, so the setting would do nothing."""
    every = OmegaConf.select(cfg, "callbacks.adagrad_reset.every_n_epochs", default=None)
    target = OmegaConf.select(cfg, "optimizer._target_", default="")
    if every is not None and target != "torch.optim.Adagrad":
        raise LeversConfigError("callbacks.adagrad_reset.every_n_epochs", every, "null unless optimizer=adagrad")


def _lr_as_float(cfg: DictConfig) -> None:
    """`lr` is typed Any (it may be "auto"): an integer from the command line (`optimizer.lr=1`) becomes a float."""
    lr = OmegaConf.select(cfg, "optimizer.lr", default=None)
    if isinstance(lr, int) and not isinstance(lr, bool):
        cfg.optimizer.lr = float(lr)


def _validate_splits(cfg: DictConfig) -> None:
    val, test = cfg.data.val_fraction, cfg.data.test_fraction
    if val + test >= 1:
        raise LeversConfigError(
            "data.val_fraction + data.test_fraction", round(val + test, 6), "< 1, leaving a train split"
        )
    if val == 0 and cfg.monitor.startswith("val/"):
        raise LeversConfigError("data.val_fraction", val, f"> 0 while `monitor` is a validation metric ({cfg.monitor})")


def _validate_fold(cfg: DictConfig) -> None:
    """`data.fold=i` picks one fold of a k-fold split; without `data.folds>=2` there are no folds, and the run would
    silently train on the plain split instead."""
    fold, folds = cfg.data.get("fold"), cfg.data.get("folds", 1)
    if fold is not None and folds < 2:
        raise LeversConfigError("data.fold", fold, f"null while data.folds={folds}; set data.folds>=2 to pick a fold")
    if fold is not None and not 0 <= fold < folds:
        raise LeversConfigError("data.fold", fold, f"null (every fold) or 0..{folds - 1} with data.folds={folds}")


def validate_monitor(monitor: str, loggable: set[str]) -> None:
    if monitor not in loggable:
        raise LeversConfigError("monitor", monitor, f"a metric this task logs: {', '.join(sorted(loggable))}")


def _reject_unknown_keys(node: DictConfig, path: str) -> None:
    """`+group.key=...` slips past the struct flag and `~group.key` deletes a key; the schema knows which exist."""
    schema = OmegaConf.get_type(node)
    known = {f.name for f in fields(schema)} if schema is not None and is_dataclass(schema) else None
    deleted = sorted(known - set(node)) if known is not None else []
    if deleted:  # `~key` deletes a schema key; the run would fail on it later with an AttributeError
        key = f"{path}{deleted[0]}"
        raise LeversConfigError(key, _Deleted(key), "a value: levers reads every key of its schema")
    for key in node:
        dotted = f"{path}{key}"
        if known is not None and key not in known:
            raise LeversConfigError(dotted, node[key], f"a key of {schema.__name__}: {', '.join(sorted(known))}")
        child = node._get_node(key)
        if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
            _reject_unknown_keys(child, f"{dotted}.")


class _Deleted:
    """Stands for the value of a key that `~key` removed, in the one-line error."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"<deleted by ~{self.key}>"


_ABSENT = object()
