"""levers' default on offline tables of 5k-60k rows next to scikit-learn's MLP and HistGradientBoosting (issue 16).

Each table is prepared once by levers (the same seeded split and train-fitted scaling every run gets); levers
trains it with its defaults (`levers.run.train`, in process, timed whole: data preparation, training with early
stopping, the test pass of the best checkpoint, checkpoint and metrics files); scikit-learn's
`MLPClassifier`/`MLPRegressor` get the same hidden sizes, Adam at the same lr, the same batch size, max_epochs and
patience, with their own early stopping (10% of the train split held out), and `HistGradientBoosting*` its
defaults; both are timed over fit + predict on the prepared arrays. Test metric: accuracy or R2 on levers' test
split. Writes bench/results/tables.json.

Tables: randhie (statsmodels, 20,190 rows, regression), fair (statsmodels, 6,366 rows, regression on `affairs`),
fair_any (the same rows as a CSV through `data=table`: did the person have any affair, classification), and
Fashion-MNIST's first 20,000 rows (Debian's dataset-fashion-mnist, when installed).

    .venv/bin/python bench/tables.py [--only randhie,fair] [--set data.batch_size=256 ...]

`--set` overrides levers' defaults (and, where scikit-learn has the same setting, its MLP's: batch size, lr,
patience, max_epochs); the results then go to bench/results/tables-<overrides>.json (`=` written `_`), leaving
the defaults' file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict
from overhead import FASHION_FILES, quiet  # bench/overhead.py
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor

from levers.config.location import config_dir
from levers.config.settings import data_settings
from levers.data.datamodule import TabularDataModule
from levers.models.mlp import MLP
from levers.run import train

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "tables.json"


def fair_csv(folder: Path) -> Path:
    """statsmodels' `fair` with a yes/no target: a real table through levers' CSV path."""
    from statsmodels.datasets import fair

    frame = fair.load_pandas().data
    frame["any_affair"] = np.where(frame.pop("affairs") > 0, "yes", "no")
    path = folder / "fair_any.csv"
    frame.to_csv(path, index=False)
    return path


def tables(folder: Path) -> dict[str, list[str]]:
    found = {
        "randhie": ["data=randhie"],
        "fair": ["data=randhie", "data.name=fair", "data.source.name=fair"],
        "fair_any": ["data=table", f"data.path={fair_csv(folder)}", "data.target=any_affair"],
    }
    if (FASHION_FILES / "train-images-idx3-ubyte.gz").exists():
        found["fashion_20k"] = ["data=fashion_mnist", "data.limit=20000"]
    return found


def hidden_sizes(in_features: int, out_features: int, cfg: Any) -> tuple[int, ...]:
    """The hidden layer sizes of levers' default MLP, read off the built network."""
    net = MLP(in_features, out_features, depth=cfg.model.depth, width=cfg.model.width)
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    return tuple(m.out_features for m in linears[:-1])


def compose_defaults(output_dir: Path, overrides: list[str]) -> Any:
    """conf/train.yaml with only the table's overrides: levers' defaults, as `python train.py` composes them."""
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


def run_levers(overrides: list[str], out: Path) -> tuple[float, dict, Any]:
    """levers in process, timed whole."""
    cfg = compose_defaults(out, [*overrides, "quiet=true"])
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        train(cfg)
    seconds = time.perf_counter() - started
    summary = json.loads((out / "summary.json").read_text())
    return seconds, summary, cfg


def run_sklearn(model, x_train, y_train, x_test, y_test, classification: bool) -> tuple[float, float]:
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    seconds = time.perf_counter() - started
    score = accuracy_score(y_test, predicted) if classification else r2_score(y_test, predicted)
    return seconds, float(score)


def bench_table(name: str, overrides: list[str], folder: Path) -> dict:
    out = folder / name
    out.mkdir()
    levers_s, summary, cfg = run_levers(overrides, out)
    prepared = TabularDataModule(data_settings(cfg.data), cfg.scaling.method, cfg.seed).tensors
    (x_train, y_train), (x_test, y_test) = prepared["train"], prepared["test"]
    classification = not torch.is_floating_point(y_train)
    x_train, x_test = x_train.numpy(), x_test.numpy()
    y_train, y_test = y_train.numpy().ravel(), y_test.numpy().ravel()
    levers_metric = summary["test"]["test/acc" if classification else "test/r2"]
    hidden = hidden_sizes(x_train.shape[1], int(y_train.max()) + 1 if classification else 1, cfg)
    mlp_args = dict(
        hidden_layer_sizes=hidden,
        learning_rate_init=float(cfg.optimizer.lr),
        batch_size=int(cfg.data.batch_size),
        max_iter=int(cfg.trainer.max_epochs),
        n_iter_no_change=int(cfg.callbacks.early_stopping.patience),
        early_stopping=True,
        random_state=int(cfg.seed),
    )
    mlp = MLPClassifier(**mlp_args) if classification else MLPRegressor(**mlp_args)
    hgb = (
        HistGradientBoostingClassifier(random_state=0)
        if classification
        else HistGradientBoostingRegressor(random_state=0)
    )
    mlp_s, mlp_metric = run_sklearn(mlp, x_train, y_train, x_test, y_test, classification)
    hgb_s, hgb_metric = run_sklearn(hgb, x_train, y_train, x_test, y_test, classification)
    row = {
        "rows": int(sum(len(t[1]) for t in prepared.values())),
        "features": int(x_train.shape[1]),
        "metric": "accuracy" if classification else "r2",
        "levers_s": levers_s,
        "levers": float(levers_metric),
        "levers_epochs": summary["epochs_run"],
        "levers_threads": summary.get("threads"),
        "mlp_s": mlp_s,
        "mlp": mlp_metric,
        "mlp_epochs": int(mlp.n_iter_),
        "hgb_s": hgb_s,
        "hgb": hgb_metric,
        "hidden": list(hidden),
    }
    print(f"  {name}: " + ", ".join(f"{k} {v:.4g}" for k, v in row.items() if isinstance(v, float)), file=sys.stderr)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="", help="comma-separated table names")
    parser.add_argument("--set", nargs="*", default=[], help="overrides of levers' defaults, e.g. data.batch_size=256")
    args = parser.parse_args()
    only = {n for n in args.only.split(",") if n}
    quiet()
    results: dict = {
        "load_average_at_start": os.getloadavg()[0],
        "cores": os.cpu_count(),
        "overrides": args.set,
        "tables": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides in tables(Path(tmp)).items():
            if not only or name in only:
                results["tables"][name] = bench_table(name, [*overrides, *args.set], Path(tmp))
    results["load_average_at_end"] = os.getloadavg()[0]
    print(
        "| table | rows x features | metric | levers | s | sklearn MLP | s | HistGB | s | levers/MLP s | levers-HGB |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results["tables"].items():
        print(
            f"| {name} | {r['rows']:,} x {r['features']} | {r['metric']} | {r['levers']:.4f} | {r['levers_s']:.1f} | "
            f"{r['mlp']:.4f} | {r['mlp_s']:.1f} | {r['hgb']:.4f} | {r['hgb_s']:.1f} | "
            f"{r['levers_s'] / r['mlp_s']:.2f} | {r['levers'] - r['hgb']:+.4f} |"
        )
    print(
        f"\n{results['cores']} cores, load average {results['load_average_at_start']:.1f} at start, "
        f"{results['load_average_at_end']:.1f} at end. levers timed whole (prepare, train, test, files); "
        "scikit-learn over fit + predict on levers' prepared arrays."
    )
    path = RESULTS.with_name(f"tables-{'-'.join(args.set).replace('=', '_')}.json") if args.set else RESULTS
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
