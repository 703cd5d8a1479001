"""Sparse autoencoder (issue 19): code sparsity and reconstruction quality against the L1 activity penalty, on digits.

Each row is `python train.py data.task=reconstruction model=autoencoder model.code_size=32 regularization=l1_activity
regularization.l1_activity=<w>` with levers' other defaults (early stopping on val/loss), trained in process. The
figures are of the best checkpoint on the validation rows: code sparsity (the fraction of code units that are off,
|a| <= 1% of the row's largest: levers.metrics.near_zero_fraction), mse and r2 in scaled units (levers.metrics);
then how useful the code is: a logistic regression on the train rows' codes, scored on the test rows' codes, against
one on the raw (scaled) pixels. Writes bench/results/autoencoder_sparsity.json.

    .venv/bin/python bench/autoencoder_sparsity.py [--weights 0,1e-4,1e-3,1e-2,1e-1] [--code-size 32] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from overhead import quiet  # bench/overhead.py
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from tables import compose_defaults, run_levers  # bench/tables.py
from torchmetrics.functional import r2_score

from levers.config.schema.data import DataConfig
from levers.config.settings import typed
from levers.data.datamodule import TabularDataModule
from levers.metrics import near_zero_fraction
from levers.serving.checkpoint import restore

RESULTS = Path(__file__).parent / "results" / "autoencoder_sparsity.json"


def overrides(weight: float, code_size: int, seed: int) -> list[str]:
    return [
        "data.task=reconstruction",
        "model=autoencoder",
        f"model.code_size={code_size}",
        "regularization=l1_activity",
        f"regularization.l1_activity={weight:g}",
        f"seed={seed}",
    ]


def digit_splits(seed: int) -> TabularDataModule:
    """Digits split as the reconstruction runs split it (same seed, not stratified), with the digit as target."""
    cfg = compose_defaults(Path(tempfile.gettempdir()), ["data=digits", "data.stratify=false"])
    return TabularDataModule(typed(cfg.data, DataConfig), "standard", seed)


def probe_accuracy(train: np.ndarray, train_y: np.ndarray, test: np.ndarray, test_y: np.ndarray) -> float:
    """A logistic regression fitted on the train rows and scored on the test rows: how linearly useful a code is."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(max_iter=2000).fit(train, train_y)
    return float((model.predict(test) == test_y).mean())


def figures(checkpoint: str, digits: TabularDataModule) -> dict:
    restored = restore(checkpoint)
    data = TabularDataModule(restored.data, restored.scaling_method, restored.seed)
    assert torch.equal(data.tensors["test"][0], digits.tensors["test"][0])  # the same rows as the labelled split
    net = restored.module.net
    with torch.no_grad():
        codes = {name: net.encode(data.tensors[name][0]) for name in ("train", "val", "test")}
        features, _ = data.tensors["val"]
        output = net.head(codes["val"])
    train_y, test_y = digits.tensors["train"][1].numpy(), digits.tensors["test"][1].numpy()
    return {
        "val_code_sparsity": near_zero_fraction(codes["val"]).mean().item(),
        "val_dead_units": int((codes["val"].abs().amax(0) == 0).sum()),
        "val_mse": torch.mean((output - features) ** 2).item(),
        "val_r2": r2_score(output, features, multioutput="variance_weighted").item(),
        "code_probe_acc": probe_accuracy(codes["train"].numpy(), train_y, codes["test"].numpy(), test_y),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="0,1e-4,1e-3,1e-2,1e-1")
    parser.add_argument("--code-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    quiet()
    torch.set_num_threads(1)
    digits = digit_splits(args.seed)
    (train_x, train_y), (test_x, test_y) = digits.tensors["train"], digits.tensors["test"]
    raw_probe = probe_accuracy(train_x.numpy(), train_y.numpy(), test_x.numpy(), test_y.numpy())
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for weight in (float(w) for w in args.weights.split(",")):
            out = Path(scratch) / f"l1_{weight:g}"
            wall, summary, _ = run_levers(overrides(weight, args.code_size, args.seed), out)
            row = {"l1_activity": weight, **figures(summary["best_checkpoint"], digits)}
            rows.append(row | {"epochs": summary["epochs_run"], "seconds": wall})
    print(
        f"{'l1_activity':>11} {'sparsity':>9} {'dead':>5} {'val mse':>8} {'val r2':>7} {'probe acc':>9} {'epochs':>6}"
    )
    for row in rows:
        print(
            f"{row['l1_activity']:>11g} {row['val_code_sparsity']:>9.3f} {row['val_dead_units']:>5d} "
            f"{row['val_mse']:>8.4f} {row['val_r2']:>7.4f} {row['code_probe_acc']:>9.4f} {row['epochs']:>6d}"
        )
    print(f"logistic regression on the {train_x.shape[1]} raw (scaled) pixels: {raw_probe:.4f}")
    RESULTS.parent.mkdir(exist_ok=True)
    result = {"data": "digits", "code_size": args.code_size, "seed": args.seed, "raw_pixels_probe_acc": raw_probe}
    RESULTS.write_text(json.dumps({**result, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
