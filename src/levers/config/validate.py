"""Range and consistency checks that types alone cannot express; each failure names key, value and allowed range.

Run before any data is loaded or any model built, so a bad value costs milliseconds, not a training run. A key's
range rule is written on its schema field (`levers.config.schema.checks`); this module walks the composed config
with the schema of each node and applies them, then the rules that relate several keys (splits, fold, Adagrad reset).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from levers.config.messages import HIDDEN_KEYS, closest
from levers.config.schema.checks import CHECK, Check, ChoiceOf
from levers.errors import LeversConfigError


def validate_config(cfg: DictConfig) -> None:
    """Raise LeversConfigError on the first unknown key or value outside its allowed range."""
    _reject_unknown_keys(cfg, "")
    _lr_as_float(cfg)
    _apply_field_checks(cfg)
    _validate_splits(cfg)
    _validate_fold(cfg)
    _validate_adagrad_reset(cfg)
    _validate_strategy(cfg)
    _validate_monitor_mode(cfg)
    _validate_backbone_lr_mult(cfg)
    _validate_reconstruction(cfg)


AUTOENCODER = "levers.models.autoencoder.Autoencoder"  # conf/model/autoencoder.yaml


def _validate_reconstruction(cfg: DictConfig) -> None:
    """An autoencoder and the reconstruction task go together: another model has no code to read (it would just
    learn to copy its input), and an autoencoder's output is its input, never a label. Shifted images would be
    reconstructed into unshifted ones: augmentation is off."""
    task = OmegaConf.select(cfg, "data.task", default="auto")
    target = OmegaConf.select(cfg, "model._target_", default=None)
    if task == "reconstruction" and target != AUTOENCODER:
        model = str(target).rsplit(".", 1)[-1]
        raise LeversConfigError("model", model, "model=autoencoder with data.task=reconstruction")
    if target == AUTOENCODER and task != "reconstruction":
        raise LeversConfigError("data.task", task, "reconstruction with model=autoencoder (its target is its input)")
    augment = OmegaConf.select(cfg, "data.augment", default="none")
    if task == "reconstruction" and augment != "none":
        raise LeversConfigError("data.augment", augment, "none with data.task=reconstruction (the target is the input)")


# Strategies whose checkpoint loading goes through the Trainer's CheckpointIO (levers' weights-only reader);
# FSDP and DeepSpeed load with their own unpicklers, so they are not offered.
STRATEGIES = (
    "auto",
    "ddp",
    "ddp_spawn",
    "ddp_fork",
    "ddp_notebook",
    "ddp_find_unused_parameters_true",
    "ddp_find_unused_parameters_false",
    "ddp_spawn_find_unused_parameters_true",
    "single_device",
)


def _validate_strategy(cfg: DictConfig) -> None:
    strategy = OmegaConf.select(cfg, "trainer.strategy", default="auto")
    if strategy not in STRATEGIES:
        raise LeversConfigError("trainer.strategy", strategy, f"one of {', '.join(STRATEGIES)}")


def _validate_backbone_lr_mult(cfg: DictConfig) -> None:
    """A multiple of the lr for a pretrained body means nothing for a model without one; say so, not ignore it."""
    mult = OmegaConf.select(cfg, "optimizer.backbone_lr_mult", default=1.0)
    target = str(OmegaConf.select(cfg, "model._target_", default=""))
    if mult != 1.0 and not target.endswith(".Backbone"):
        raise LeversConfigError("optimizer.backbone_lr_mult", mult, "1.0 unless model=backbone (the body's lr x this)")
    if mult != 1.0 and not OmegaConf.select(cfg, "model.weights", default=None):
        raise LeversConfigError(
            "optimizer.backbone_lr_mult", mult, "1.0 without model.weights (a slower body keeps what was pretrained)"
        )


def _apply_field_checks(cfg: DictConfig) -> None:
    """Values set in place are checked before those that follow another key by interpolation (`model.dropout`
    follows `regularization.dropout`), so a bad value is reported at the key the user set."""
    checked = list(_checked_values(cfg, ""))
    for key, value, check, _ in sorted(checked, key=lambda item: item[3]):
        if not _accepts(check, value):
            raise LeversConfigError(key, value, check.allowed)


def _checked_values(node: DictConfig, path: str) -> Iterator[tuple[str, Any, Check | ChoiceOf, bool]]:
    """(dotted key, value, check, is an interpolation) for every field of the node's schema that carries a check,
    in the config's order, then the same for every sub-node."""
    schema = OmegaConf.get_type(node)
    checks = {f.name: f.metadata[CHECK] for f in fields(schema) if CHECK in f.metadata} if _is_schema(schema) else {}
    for key in node:
        child = node._get_node(key)
        if key in checks and not child._is_missing():
            yield f"{path}{key}", node[key], checks[key], child._is_interpolation()
        if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
            yield from _checked_values(child, f"{path}{key}.")


def _is_schema(kind: Any) -> bool:
    return kind is not None and is_dataclass(kind)


def _accepts(check: Check | ChoiceOf, value: Any) -> bool:
    """A value of a type the rule cannot compare (`None >= 1`) is out of range, not a crash."""
    try:
        return bool(check.accepts(value))
    except TypeError:
        return False


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


# The direction each logged metric improves in (levers.metrics names them); a wrong monitor_mode would keep the
# worst checkpoint and stop early on the best epochs.
MONITOR_DIRECTION = {"loss": "min", "mae": "min", "rmse": "min", "mse": "min", "acc": "max", "bal_acc": "max",
                     "f1": "max", "auroc": "max", "r2": "max"}  # fmt: skip


def _validate_monitor_mode(cfg: DictConfig) -> None:
    wanted = MONITOR_DIRECTION.get(str(cfg.monitor).rsplit("/", 1)[-1])
    if wanted is not None and cfg.monitor_mode != wanted:
        raise LeversConfigError("monitor_mode", cfg.monitor_mode, f"{wanted} for monitor={cfg.monitor}")


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
            allowed = sorted(name for name in known if name not in HIDDEN_KEYS)
            hint = f" (did you mean {close}?)" if (close := closest(str(key), allowed)) else ""
            raise LeversConfigError(dotted, node[key], f"a key of {schema.__name__}{hint}: {', '.join(allowed)}")
        child = node._get_node(key)
        if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
            _reject_unknown_keys(child, f"{dotted}.")


class _Deleted:
    """Stands for the value of a key that `~key` removed, in the one-line error."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"<deleted by ~{self.key}>"
