"""Loss options inside real (short) training runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.utils.class_weight import compute_class_weight

from levers.build import build_data, module_for
from levers.config.validate import validate_config
from levers.data.task import TaskSpec
from levers.errors import LeversConfigError
from levers.losses import FocalLoss, build_loss, class_weights
from levers.run import train
from levers.serving.checkpoint import restore
from tests.conftest import levers_command
from tests.in_training import run_with


def test_mae_and_huber_beat_mse_on_the_heavy_tailed_target_test_mae(make_cfg):
    maes = {}
    for loss in ("mse", "mae", "huber"):
        summary, _ = run_with(
            make_cfg, "data=randhie", f"loss={loss}", "data.batch_size=256", "trainer.max_epochs=8", "seed=0"
        )
        maes[loss] = summary["test"]["test/mae"]
    assert maes["mae"] < maes["mse"] and maes["huber"] < maes["mse"], maes


# --- imbalanced classes: class weights and the focal loss ----------------------------------------------------------

BINARY = TaskSpec("binary", num_classes=2)
THREE_CLASSES = TaskSpec("multiclass", num_classes=3)


def loss_config(name: str, **values) -> dict:
    targets = {"cross_entropy": "torch.nn.CrossEntropyLoss", "bce": "torch.nn.BCEWithLogitsLoss"}
    return {"name": name, "_target_": targets.get(name, "levers.losses.FocalLoss"), **values}


def test_focal_loss_with_gamma_0_and_no_alpha_is_cross_entropy():
    generator = torch.Generator().manual_seed(0)
    logits, target = torch.randn(64, 5, generator=generator), torch.randint(0, 5, (64,), generator=generator)
    weight = torch.rand(5, generator=generator) + 0.1
    assert FocalLoss(gamma=0.0)(logits, target) == pytest.approx(F.cross_entropy(logits, target).item(), rel=1e-6)
    weighted = F.cross_entropy(logits, target, weight=weight).item()
    assert FocalLoss(gamma=0.0, weight=weight)(logits, target) == pytest.approx(weighted, rel=1e-6)


def test_binary_focal_loss_with_gamma_0_and_no_alpha_is_binary_cross_entropy():
    generator = torch.Generator().manual_seed(1)
    logits, target = torch.randn(64, generator=generator) * 3, torch.randint(0, 2, (64,), generator=generator).float()
    expected = F.binary_cross_entropy_with_logits(logits, target).item()
    assert FocalLoss(gamma=0.0, single_logit=True)(logits, target) == pytest.approx(expected, rel=1e-6)


def test_weighted_binary_focal_loss_with_gamma_0_is_the_weighted_mean_of_binary_cross_entropy():
    generator = torch.Generator().manual_seed(2)
    logits, target = torch.randn(64, generator=generator), torch.randint(0, 2, (64,), generator=generator).float()
    weight = torch.tensor([0.6, 3.0])
    rows = weight[target.long()]
    expected = (rows * F.binary_cross_entropy_with_logits(logits, target, reduction="none")).sum() / rows.sum()
    loss = FocalLoss(gamma=0.0, weight=weight, single_logit=True)(logits, target)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_focal_loss_is_alpha_t_times_one_minus_p_t_to_the_gamma_times_the_log_loss():
    logits, target = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 1.0, 0.0])
    p = torch.sigmoid(logits)
    p_t = torch.where(target == 1, p, 1 - p)
    alpha_t = torch.where(target == 1, 0.25, 0.75)
    expected = (-alpha_t * (1 - p_t) ** 2 * torch.log(p_t)).mean().item()
    assert FocalLoss(gamma=2.0, alpha=0.25, single_logit=True)(logits, target) == pytest.approx(expected, rel=1e-6)


def test_balanced_class_weights_equal_scikit_learns_compute_class_weight():
    labels = np.array([0] * 50 + [1] * 7 + [2] * 23)
    weights = class_weights("balanced", THREE_CLASSES, torch.as_tensor(labels))
    expected = compute_class_weight("balanced", classes=np.arange(3), y=labels)
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-6)


def test_bce_weights_the_positive_class_by_the_ratio_of_the_class_weights():
    labels = torch.tensor([0] * 30 + [1] * 10)
    choice = build_loss(loss_config("bce", class_weights="balanced"), BINARY, labels)
    assert choice.module.pos_weight.item() == pytest.approx(30 / 10)  # n_neg / n_pos, torch's own advice
    explicit = build_loss(loss_config("bce", class_weights=[2.0, 5.0]), BINARY, labels)
    assert explicit.module.pos_weight.item() == pytest.approx(2.5)


def test_binary_focal_loss_uses_one_logit_and_multiclass_one_per_class():
    assert build_loss(loss_config("focal"), BINARY).output_units(BINARY) == 1
    assert build_loss(loss_config("focal"), THREE_CLASSES).output_units(THREE_CLASSES) == 3


def test_balanced_weights_come_from_the_train_split_only(make_cfg):
    data = build_data(make_cfg("data=wine", "loss.class_weights=balanced"))
    train_labels = data.tensors["train"][1]
    weights = module_for(make_cfg("data=wine", "loss.class_weights=balanced"), data).loss_fn.weight
    expected = compute_class_weight("balanced", classes=np.arange(3), y=train_labels.numpy())
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-6)
    for split in ("val", "test"):  # other labels on the held-out rows: the same weights
        features, labels = data.tensors[split]
        data.tensors[split] = (features, (labels + 1) % 3)
    again = module_for(make_cfg("data=wine", "loss.class_weights=balanced"), data).loss_fn.weight
    assert torch.equal(weights, again)


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    [
        (["data=diabetes", "loss.class_weights=balanced"], "loss.class_weights", "none for a regression"),
        (["data=wine", "loss.class_weights=[1,2]"], "loss.class_weights", "a list of 3 weights"),
        (["data=wine", "loss=focal", "loss.alpha=0.25"], "loss.alpha", "null for a multiclass task"),
    ],
)
def test_class_weights_that_do_not_fit_the_task_are_refused_naming_the_key(make_cfg, overrides, key, allowed):
    with pytest.raises(LeversConfigError) as error:
        train(make_cfg(*overrides))
    assert error.value.key == key and allowed in str(error.value)


@pytest.mark.parametrize("value", ["balance", "[1,-2]", "[1,true]"])
def test_a_misspelt_or_negative_class_weight_fails_at_start_up(make_cfg, value):
    with pytest.raises(LeversConfigError, match="none, balanced, or a list of positive weights"):
        validate_config(make_cfg(f"loss.class_weights={value}"))


def test_eval_of_a_class_weighted_checkpoint_uses_the_weights_it_was_trained_with(make_cfg, tmp_path):
    summary, cfg = run_with(make_cfg, "data=breast_cancer", "loss.class_weights=balanced", "trainer.max_epochs=2")
    counts = torch.bincount(build_data(cfg).tensors["train"][1])
    checkpoint = torch.load(summary["best_checkpoint"], weights_only=True)
    assert checkpoint["state_dict"]["loss_fn.pos_weight"].item() == pytest.approx((counts[0] / counts[1]).item())
    evaluated = levers_command("eval", tmp_path / "eval", ckpt_path=summary["best_checkpoint"])
    assert evaluated["test"]["test/loss"] == pytest.approx(summary["test"]["test/loss"], rel=1e-6)


def one_vs_rest_digits(path: Path, digit: int, share: float) -> None:
    """scikit-learn's digits as `digit` against the rest, the digit's rows subsampled to `share` of the table."""
    features, labels = load_digits(return_X_y=True)
    rest, chosen = np.flatnonzero(labels != digit), np.flatnonzero(labels == digit)
    kept = np.random.default_rng(0).choice(chosen, size=round(share / (1 - share) * len(rest)), replace=False)
    rows = np.sort(np.concatenate([rest, kept]))
    frame = pd.DataFrame(features[rows], columns=[f"pixel{i}" for i in range(features.shape[1])])
    frame["is_digit"] = (labels[rows] == digit).astype(int)
    frame.to_csv(path, index=False)


def minority_recall(summary: dict, cfg) -> float:
    """Recall of class 1 on the run's test split, with its best checkpoint."""
    module = restore(summary["best_checkpoint"]).module
    features, labels = build_data(cfg).tensors["test"]
    with torch.no_grad():
        predicted = (module(features).squeeze(-1) > 0).long()
    return ((predicted == 1) & (labels == 1)).sum().item() / (labels == 1).sum().item()


def test_balanced_class_weights_raise_minority_recall_on_a_95_to_5_table(make_cfg, tmp_path):
    table = tmp_path / "eights.csv"
    one_vs_rest_digits(table, digit=8, share=0.05)
    recalls: dict[str, list[float]] = {"none": [], "balanced": []}
    for seed in (0, 1, 2):
        for weights in recalls:
            overrides = ["data=table", f"data.path={table}", "data.target=is_digit", f"seed={seed}"]
            summary, cfg = run_with(make_cfg, *overrides, f"loss.class_weights={weights}")
            recalls[weights].append(minority_recall(summary, cfg))
    assert np.mean(recalls["balanced"]) > np.mean(recalls["none"]) + 0.05, recalls


def test_reconstruction_takes_mse_by_default_and_refuses_classification_losses():
    task = TaskSpec("reconstruction", num_targets=64)
    assert build_loss({"name": "auto"}, task).name == "mse"
    assert build_loss({"name": "auto"}, task).output_units(task) == 64
    with pytest.raises(LeversConfigError, match=r"^loss='bce' .*a reconstruction task takes one of mse, mae, huber"):
        build_loss({"name": "bce", "_target_": "torch.nn.BCEWithLogitsLoss"}, task)
