"""Bad input fails before training with one clear line naming the key and what is allowed."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException

from levers.config.validate import validate_config
from levers.errors import LeversConfigError
from levers.run import train


@pytest.mark.parametrize(
    ("override", "key", "allowed"),
    [
        ("optimizer.lr=0", "optimizer.lr", "> 0"),
        ("optimizer.lr=-0.1", "optimizer.lr", "> 0"),
        ("regularization.dropout=1.0", "regularization.dropout", "[0, 1)"),
        ("model.dropout=-0.1", "model.dropout", "[0, 1)"),
        ("model.depth=-1", "model.depth", "0..64 hidden layers"),
        ("model.depth=1000000", "model.depth", "0..64 hidden layers"),
        ("model.width=0", "model.width", "1..65536 units"),
        ("model.width=1000000", "model.width", "1..65536 units"),
        ("seed=-1", "seed", "an integer in 0..4294967295"),
        ("seed=4294967296", "seed", "an integer in 0..4294967295"),
        ("data.fold=0", "data.fold", "null while data.folds=1; set data.folds>=2"),
        ("callbacks.nonfinite_guard.divergence_factor=0.5", "callbacks.nonfinite_guard.divergence_factor", "> 1"),
        ("callbacks.early_stopping.patience=-3", "callbacks.early_stopping.patience", ">= 0"),
        ("callbacks.model_checkpoint.save_top_k=-2", "callbacks.model_checkpoint.save_top_k", ">= -1"),
        ("trainer.accumulate_grad_batches=0", "trainer.accumulate_grad_batches", ">= 1"),
        ("model.activation=swish", "model.activation", "relu"),
        ("data.batch_size=0", "data.batch_size", ">= 1"),
        ("scaling.method=zscore", "scaling.method", "standard"),
        ("monitor_mode=up", "monitor_mode", "min, max"),
        ("trainer.gradient_clip_algorithm=l2", "trainer.gradient_clip_algorithm", "norm, value"),
        ("steps_per_call=0", "steps_per_call", "auto or an integer >= 1"),
        ("steps_per_call=fast", "steps_per_call", "auto or an integer >= 1"),
    ],
)
def test_out_of_range_value_names_key_and_allowed_range(make_cfg, override, key, allowed):
    with pytest.raises(LeversConfigError) as error:
        train(make_cfg(override))
    assert error.value.key == key
    assert allowed in str(error.value) and key in str(error.value)


def test_fold_outside_the_folds_is_rejected_before_the_data_loads(make_cfg):
    with pytest.raises(LeversConfigError, match=r"data.fold=3 .*0..2 with data.folds=3"):
        train(make_cfg("data.folds=3", "data.fold=3"))


@pytest.mark.parametrize("override", ["model=rnn", "model=rnn model.num_layers=64", "model.depth=64 model.width=8"])
def test_largest_allowed_sizes_pass_validation(make_cfg, override):
    validate_config(make_cfg(*override.split()))


def test_rnn_layers_beyond_the_bound_are_rejected(make_cfg):
    with pytest.raises(LeversConfigError, match=r"model.num_layers=65 .*1..64"):
        validate_config(make_cfg("model=rnn", "model.num_layers=65"))


def test_sgd_momentum_outside_unit_interval_is_rejected(make_cfg):
    with pytest.raises(LeversConfigError, match=r"optimizer.momentum=1.0 .*\[0, 1\)"):
        train(make_cfg("optimizer=sgd", "optimizer.momentum=1.0"))


def test_split_fractions_that_leave_no_train_set_are_rejected(make_cfg):
    with pytest.raises(LeversConfigError, match="leaving a train split"):
        train(make_cfg("data.val_fraction=0.5", "data.test_fraction=0.5"))


def test_no_val_split_while_monitoring_a_val_metric_is_rejected(make_cfg):
    with pytest.raises(LeversConfigError, match="data.val_fraction"):
        train(make_cfg("data.val_fraction=0"))


@pytest.mark.parametrize(("data", "loss"), [("diabetes", "cross_entropy"), ("digits", "mse"), ("digits", "bce")])
def test_loss_incompatible_with_the_task_is_rejected(make_cfg, data, loss):
    with pytest.raises(LeversConfigError, match=r"loss=.* task takes one of"):
        train(make_cfg(f"data={data}", f"loss={loss}"))


def test_monitor_that_the_task_never_logs_is_rejected(make_cfg):
    with pytest.raises(LeversConfigError, match="monitor='val/mae'.*val/acc"):
        train(make_cfg("monitor=val/mae"))


def test_batch_larger_than_the_train_split_is_rejected(make_cfg):
    with pytest.raises(LeversConfigError, match="data.batch_size"):
        train(make_cfg("data=wine", "data.batch_size=4096"))


def test_classes_absent_from_the_data_are_rejected(make_cfg):
    with pytest.raises(LeversConfigError, match=r"data.classes.*present"):
        train(make_cfg("data.classes=[0,42]"))


def test_a_single_class_is_rejected(make_cfg):
    with pytest.raises(LeversConfigError, match="at least 2 classes"):
        train(make_cfg("data.classes=[3]"))


def test_misspelt_key_fails_at_composition(make_cfg):
    with pytest.raises(ConfigCompositionException, match="optimizer.lrr"):
        make_cfg("optimizer.lrr=0.1")


def test_key_added_with_plus_that_the_schema_lacks_is_rejected(make_cfg):
    with pytest.raises(LeversConfigError, match=r"optimizer.lrr=0.1 .*of AdamConfig \(did you mean lr\?\): ") as e:
        train(make_cfg("+optimizer.lrr=0.1"))
    assert str(e.value).endswith(": amsgrad, backbone_lr_mult, betas, eps, lr, weight_decay")  # no _target_ / _partial_


# optimizer.lr is typed Any (it may be "auto"): `optimizer.lr=fast` fails in validation instead (see test_lr_find.py).
@pytest.mark.parametrize(
    "override", ["trainer.max_epochs=many", "model.depth=two", "seed=abc", "model.batchnorm=maybe"]
)
def test_wrong_type_fails_at_composition(make_cfg, override):
    with pytest.raises(ConfigCompositionException, match=override.split("=")[0]):
        make_cfg(override)


def test_key_deleted_with_tilde_is_rejected(make_cfg):
    with pytest.raises(LeversConfigError, match=r"^seed=<deleted by ~seed> is not allowed"):
        validate_config(make_cfg("~seed"))


def test_key_under_a_switched_off_entry_fails_at_composition_naming_the_entry(make_cfg):
    with pytest.raises(ConfigCompositionException) as error:
        make_cfg("callbacks.periodic_checkpoint.every_n_epochs=3")
    assert "callbacks.periodic_checkpoint is null" in str(error.value.__cause__)
    assert "callbacks=periodic" in str(error.value.__cause__)


def test_unknown_group_option_lists_the_choices(make_cfg):
    with pytest.raises(MissingConfigException) as error:
        make_cfg("optimizer=adamm")
    assert "nadam" in str(error.value) and "sgd" in str(error.value)


def test_an_adagrad_reset_with_another_optimizer_is_refused(make_cfg):
    with pytest.raises(LeversConfigError, match=r"adagrad_reset.every_n_epochs=3 .* unless optimizer=adagrad"):
        validate_config(make_cfg("optimizer=adam", "callbacks.adagrad_reset.every_n_epochs=3"))


@pytest.mark.parametrize("strategy", ["fsdp", "deepspeed"])
def test_strategies_that_unpickle_checkpoints_themselves_are_refused(make_cfg, strategy):
    with pytest.raises(LeversConfigError, match=rf"trainer.strategy='{strategy}' is not allowed: one of auto, ddp"):
        validate_config(make_cfg(f"trainer.strategy={strategy}"))
